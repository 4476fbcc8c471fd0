extension BuiltinTemplates {
    /// French (vous, as businesses write to their clients).
    static let french: [BuiltinText] = [
        BuiltinText("appointment.pending", "fr",
            sms: "{{location.name}} : votre demande de rendez-vous pour le {{event_at.datetime}} est bien enregistrée. Nous vous confirmerons le rendez-vous très vite.",
            subject: "Demande de rendez-vous reçue : {{event_at.date}}", [
                "Nous avons bien reçu votre demande de rendez-vous{{#service}} pour {{service}}{{/service}} le {{event_at.datetime}}.",
                "Elle n'est pas encore confirmée : nous vous écrirons dès que nous l'aurons examinée.",
            ], links: [("Voir ou annuler ma demande", "manage_url")]),
        BuiltinText("appointment.confirmed", "fr",
            sms: "{{location.name}} : votre rendez-vous du {{event_at.datetime}} est confirmé.{{#manage_url}} Pour le gérer : {{manage_url}}{{/manage_url}}",
            subject: "Rendez-vous confirmé : {{event_at.datetime}}", [
                "Votre rendez-vous{{#service}} pour {{service}}{{/service}} est confirmé.",
                "Date : {{event_at.datetime_long}}{{#location.address}}\nAdresse : {{location.address}}{{/location.address}}",
                "En cas d'empêchement, merci de nous prévenir à l'avance afin que nous puissions proposer ce créneau à quelqu'un d'autre.",
            ], links: [("Gérer mon rendez-vous", "manage_url")]),
        BuiltinText("appointment.declined", "fr",
            sms: "{{location.name}} : nous sommes désolés, nous ne pouvons pas accepter votre demande de rendez-vous du {{event_at.datetime}}.{{#reason}} Motif : {{reason}}.{{/reason}} Vous pouvez choisir un autre créneau.",
            subject: "Votre demande de rendez-vous n'a pas pu être acceptée", [
                "Nous sommes désolés, nous ne pouvons pas accepter votre demande de rendez-vous du {{event_at.datetime}}.",
                "{{#reason}}Motif : {{reason}}{{/reason}}",
                "N'hésitez pas à choisir un autre créneau : nous serons ravis de vous recevoir.",
            ], links: [("Choisir un autre créneau", "manage_url")]),
        BuiltinText("appointment.cancelled", "fr",
            sms: "{{location.name}} : votre rendez-vous du {{event_at.datetime}} est annulé.{{#reason}} Motif : {{reason}}.{{/reason}}{{#manage_url}} Pour en prendre un autre : {{manage_url}}{{/manage_url}}",
            subject: "Rendez-vous annulé : {{event_at.date}}", [
                "Votre rendez-vous du {{event_at.datetime}} a été annulé.",
                "{{#reason}}Motif : {{reason}}{{/reason}}",
                "Vous pouvez prendre un nouveau rendez-vous quand vous le souhaitez.",
            ], links: [("Prendre un nouveau rendez-vous", "manage_url")]),
        BuiltinText("appointment.rescheduled", "fr",
            sms: "{{location.name}} : votre rendez-vous du {{previous_event_at.datetime}} est déplacé au {{event_at.datetime}}.{{#manage_url}} Pour le gérer : {{manage_url}}{{/manage_url}}",
            subject: "Votre rendez-vous a été déplacé : {{event_at.datetime}}", [
                "Votre rendez-vous{{#service}} pour {{service}}{{/service}} a été déplacé.",
                "Ancien horaire : {{previous_event_at.datetime_long}}\nNouvel horaire : {{event_at.datetime_long}}",
                "Si ce nouvel horaire ne vous convient pas, vous pouvez le modifier ou l'annuler.",
            ], links: [("Gérer mon rendez-vous", "manage_url")]),
        BuiltinText("appointment.reminder", "fr",
            sms: "{{location.name}} : rappel de votre rendez-vous{{#service}} ({{service}}){{/service}} le {{event_at.datetime}}.{{#manage_url}} Pour confirmer ou annuler : {{manage_url}}{{/manage_url}}",
            subject: "Rappel de votre rendez-vous : {{event_at.datetime}}", [
                "Nous vous rappelons votre rendez-vous{{#service}} pour {{service}}{{/service}} le {{event_at.datetime_long}} ({{event_at.relative}}).",
                "{{#location.address}}Adresse : {{location.address}}{{/location.address}}",
                "En cas d'empêchement, merci de nous prévenir à l'avance.",
            ], links: [("Confirmer mon rendez-vous", "confirm_url"), ("Annuler mon rendez-vous", "cancel_url"), ("Gérer ma réservation", "manage_url")]),
        BuiltinText("appointment.feedback", "fr",
            sms: "{{location.name}} : merci de votre visite, {{client.name}} ! {{#feedback_url}}Votre avis nous intéresse : {{feedback_url}}{{/feedback_url}}{{^feedback_url}}Répondez à ce message pour nous donner votre avis.{{/feedback_url}}",
            subject: "Comment s'est passée votre visite chez {{location.name}} ?", [
                "Merci de votre visite{{#service}} pour {{service}}{{/service}}. Nous espérons que tout s'est bien passé.",
                "Pourriez-vous nous dire ce que vous en avez pensé ? Votre avis nous aide à nous améliorer et ne vous prendra qu'une minute.",
            ], links: [("Donner mon avis", "feedback_url")]),
        BuiltinText("work_order.created", "fr",
            sms: "{{location.name}} : nous avons enregistré votre dossier {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}}. Nous vous tiendrons informé de son avancement.",
            subject: "Dossier n° {{order.number}} enregistré", [
                "Nous avons enregistré votre dossier n° {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}}.",
                "Nous vous préviendrons à chaque changement de statut.",
            ], links: [("Suivre mon dossier", "tracking_url")]),
        BuiltinText("work_order.status_changed", "fr",
            sms: "{{location.name}} : votre dossier {{order.number}} a changé de statut : {{order.status}}.",
            subject: "Dossier n° {{order.number}} : {{order.status}}", [
                "Le statut de votre dossier n° {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} a changé.",
                "Statut actuel : {{order.status}}",
            ], links: [("Suivre mon dossier", "tracking_url")]),
        BuiltinText("work_order.ready", "fr",
            sms: "{{location.name}} : bonne nouvelle, votre dossier {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} est terminé, vous pouvez venir le récupérer.{{#order.total}} Montant : {{order.total}}.{{/order.total}}",
            subject: "Votre dossier n° {{order.number}} est prêt", [
                "Bonne nouvelle ! Votre dossier n° {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} est prêt, vous pouvez venir le récupérer.",
                "{{#order.total}}Montant à régler : {{order.total}}{{/order.total}}",
                "{{#location.address}}Adresse : {{location.address}}{{/location.address}}",
            ], links: [("Voir mon dossier", "tracking_url")]),
        BuiltinText("lead.created", "fr",
            sms: "{{location.name}} : merci pour votre message, {{client.name}}. Nous avons bien pris en compte votre demande et vous répondrons au plus vite.",
            subject: "Nous avons bien reçu votre demande", [
                "Merci d'avoir contacté {{location.name}}.",
                "Nous avons bien reçu votre demande{{#lead.subject}} concernant « {{lead.subject}} »{{/lead.subject}} et nous vous répondrons dans les meilleurs délais.",
            ]),
        BuiltinText("appointment.status_changed", "fr",
            sms: "{{location.name}} : votre rendez-vous du {{event_at.datetime}} a changé de statut : {{status}}.",
            subject: "Votre rendez-vous du {{event_at.date}} : {{status}}", [
                "Le statut de votre rendez-vous{{#service}} pour {{service}}{{/service}} du {{event_at.datetime_long}} a changé.",
                "Statut actuel : {{status}}",
            ], links: [("Gérer mon rendez-vous", "manage_url")]),
        BuiltinText("lead.status_changed", "fr",
            sms: "{{location.name}} : votre demande a changé de statut : {{status}}.",
            subject: "Votre demande : {{status}}", [
                "Le statut de votre demande{{#lead.subject}} concernant « {{lead.subject}} »{{/lead.subject}} a changé.",
                "Statut actuel : {{status}}",
            ]),
        BuiltinText("staff.appointment.created", "fr",
            sms: "Nouveau rendez-vous : {{client.name}}, {{event_at.datetime}}{{#service}} ({{service}}){{/service}}.",
            subject: "Nouveau rendez-vous : {{client.name}}, {{event_at.datetime}}", greeting: "Bonjour à l’équipe,", [
                "{{client.name}} a réservé{{#service}} {{service}}{{/service}} pour le {{event_at.datetime_long}}.",
                "{{#client.phone}}Téléphone : {{client.phone}}{{/client.phone}}{{#client.email}}\nE-mail : {{client.email}}{{/client.email}}",
            ]),
        BuiltinText("staff.appointment.time_changed", "fr",
            sms: "Rendez-vous déplacé : {{client.name}}, {{previous_event_at.datetime}} → {{event_at.datetime}}.",
            subject: "Rendez-vous déplacé : {{client.name}}, désormais {{event_at.datetime}}", greeting: "Bonjour à l’équipe,", [
                "Le rendez-vous de {{client.name}}{{#service}} pour {{service}}{{/service}} a été déplacé.",
                "Avant : {{previous_event_at.datetime_long}}\nDésormais : {{event_at.datetime_long}}",
            ]),
        BuiltinText("staff.appointment.cancelled", "fr",
            sms: "Rendez-vous annulé : {{client.name}}, {{event_at.datetime}}.",
            subject: "Rendez-vous annulé : {{client.name}}, {{event_at.datetime}}", greeting: "Bonjour à l’équipe,", [
                "Le rendez-vous de {{client.name}}{{#service}} pour {{service}}{{/service}} du {{event_at.datetime_long}} a été annulé.",
                "{{#reason}}Motif : {{reason}}{{/reason}}",
            ]),
        BuiltinText("staff.appointment.status_changed", "fr",
            sms: "Rendez-vous de {{client.name}}, {{event_at.datetime}} : {{status}}.",
            subject: "Rendez-vous de {{client.name}}, {{event_at.datetime}} : {{status}}", greeting: "Bonjour à l’équipe,", [
                "Le rendez-vous de {{client.name}} du {{event_at.datetime_long}} est désormais : {{status}}.",
            ]),
        BuiltinText("staff.lead.created", "fr",
            sms: "Nouvelle demande de {{client.name}}{{#lead.subject}} : {{lead.subject}}{{/lead.subject}}.",
            subject: "Nouvelle demande de {{client.name}}", greeting: "Bonjour à l’équipe,", [
                "{{client.name}} a envoyé une demande{{#lead.subject}} concernant « {{lead.subject}} »{{/lead.subject}}.",
                "{{#client.phone}}Téléphone : {{client.phone}}{{/client.phone}}{{#client.email}}\nE-mail : {{client.email}}{{/client.email}}",
            ]),
    ]
}
