extension BuiltinTemplates {
    /// Spanish (tú, as salons, clinics and repair shops in Spain and Latin America write to clients).
    static let spanish: [BuiltinText] = [
        BuiltinText("appointment.pending", "es",
            sms: "{{location.name}}: hemos recibido tu solicitud de cita para el {{event_at.datetime}}. Te avisaremos en cuanto la confirmemos.",
            subject: "Solicitud de cita recibida: {{event_at.date}}", [
                "Hemos recibido tu solicitud de cita{{#service}} para {{service}}{{/service}} el {{event_at.datetime}}.",
                "Todavía no está confirmada: te escribiremos en cuanto la revisemos.",
            ], links: [("Ver o cancelar mi solicitud", "manage_url")]),
        BuiltinText("appointment.confirmed", "es",
            sms: "{{location.name}}: tu cita del {{event_at.datetime}} está confirmada.{{#manage_url}} Puedes gestionarla aquí: {{manage_url}}{{/manage_url}}",
            subject: "Cita confirmada: {{event_at.datetime}}", [
                "Tu cita{{#service}} para {{service}}{{/service}} está confirmada.",
                "Fecha: {{event_at.datetime_long}}{{#location.address}}\nDirección: {{location.address}}{{/location.address}}",
                "Si no puedes venir, avísanos con antelación para que otra persona pueda aprovechar la hora.",
            ], links: [("Gestionar mi cita", "manage_url")]),
        BuiltinText("appointment.declined", "es",
            sms: "{{location.name}}: lo sentimos, no podemos darte la cita del {{event_at.datetime}}.{{#reason}} Motivo: {{reason}}.{{/reason}} Elige otra hora cuando quieras.",
            subject: "No podemos atender tu solicitud de cita", [
                "Lo sentimos, no podemos atender tu solicitud de cita para el {{event_at.datetime}}.",
                "{{#reason}}Motivo: {{reason}}{{/reason}}",
                "Puedes elegir otra hora cuando quieras; estaremos encantados de atenderte.",
            ], links: [("Reservar otra hora", "manage_url")]),
        BuiltinText("appointment.cancelled", "es",
            sms: "{{location.name}}: tu cita del {{event_at.datetime}} ha sido cancelada.{{#reason}} Motivo: {{reason}}.{{/reason}}{{#manage_url}} Reserva otra hora: {{manage_url}}{{/manage_url}}",
            subject: "Cita cancelada: {{event_at.date}}", [
                "Tu cita del {{event_at.datetime}} ha sido cancelada.",
                "{{#reason}}Motivo: {{reason}}{{/reason}}",
                "Si quieres, puedes reservar una nueva hora cuando te venga bien.",
            ], links: [("Reservar otra hora", "manage_url")]),
        BuiltinText("appointment.rescheduled", "es",
            sms: "{{location.name}}: tu cita del {{previous_event_at.datetime}} pasa al {{event_at.datetime}}.{{#manage_url}} Gestionar: {{manage_url}}{{/manage_url}}",
            subject: "Tu cita ha cambiado: {{event_at.datetime}}", [
                "Hemos cambiado la fecha de tu cita{{#service}} para {{service}}{{/service}}.",
                "Antes: {{previous_event_at.datetime_long}}\nAhora: {{event_at.datetime_long}}",
                "Si la nueva hora no te viene bien, puedes cambiarla o cancelarla.",
            ], links: [("Gestionar mi cita", "manage_url")]),
        BuiltinText("appointment.reminder", "es",
            sms: "{{location.name}}: te recordamos tu cita del {{event_at.datetime}}.{{#manage_url}} Confirmar o cancelar: {{manage_url}}{{/manage_url}}",
            subject: "Recordatorio de tu cita: {{event_at.datetime}}", [
                "Te recordamos tu cita{{#service}} para {{service}}{{/service}} del {{event_at.datetime_long}} ({{event_at.relative}}).",
                "{{#location.address}}Te esperamos en {{location.address}}.{{/location.address}}",
                "Si no puedes venir, avísanos con antelación.",
            ], links: [("Confirmar mi cita", "confirm_url"), ("Cancelar mi cita", "cancel_url"), ("Gestionar mi reserva", "manage_url")]),
        BuiltinText("appointment.feedback", "es",
            sms: "{{location.name}}: gracias por tu visita, {{client.name}}. ¿Qué tal fue? {{#feedback_url}}Cuéntanos tu opinión: {{feedback_url}}{{/feedback_url}}{{^feedback_url}}Responde a este mensaje y cuéntanos.{{/feedback_url}}",
            subject: "¿Qué tal tu visita a {{location.name}}?", [
                "Gracias por visitarnos{{#service}} para {{service}}{{/service}}. Esperamos que todo haya ido bien.",
                "¿Nos cuentas qué tal fue? Tu opinión nos ayuda a mejorar y solo te llevará un minuto.",
            ], links: [("Dejar mi opinión", "feedback_url")]),
        BuiltinText("work_order.created", "es",
            sms: "{{location.name}}: hemos registrado tu orden {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}}. Te avisaremos de cada cambio de estado.",
            subject: "Orden n.º {{order.number}} registrada", [
                "Hemos registrado tu orden n.º {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}}.",
                "Te avisaremos cada vez que cambie su estado.",
            ], links: [("Seguir mi orden", "tracking_url")]),
        BuiltinText("work_order.status_changed", "es",
            sms: "{{location.name}}: tu orden {{order.number}} ha cambiado de estado: {{order.status}}.",
            subject: "Orden n.º {{order.number}}: {{order.status}}", [
                "Tu orden n.º {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} ha cambiado de estado.",
                "Estado actual: {{order.status}}",
            ], links: [("Seguir mi orden", "tracking_url")]),
        BuiltinText("work_order.ready", "es",
            sms: "{{location.name}}: tu orden {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} está lista para recoger.{{#order.total}} Importe: {{order.total}}.{{/order.total}}",
            subject: "Tu orden n.º {{order.number}} está lista para recoger", [
                "¡Buenas noticias! Tu orden n.º {{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} está lista para recoger.",
                "{{#order.total}}Importe a pagar: {{order.total}}{{/order.total}}",
                "{{#location.address}}Te esperamos en {{location.address}}.{{/location.address}}",
            ], links: [("Ver mi orden", "tracking_url")]),
        BuiltinText("lead.created", "es",
            sms: "{{location.name}}: gracias por escribirnos, {{client.name}}. Hemos recibido tu consulta y te responderemos lo antes posible.",
            subject: "Hemos recibido tu consulta", [
                "Gracias por ponerte en contacto con {{location.name}}.",
                "Hemos recibido tu consulta{{#lead.subject}} sobre «{{lead.subject}}»{{/lead.subject}} y te responderemos lo antes posible.",
            ]),
        BuiltinText("appointment.status_changed", "es",
            sms: "{{location.name}}: tu cita del {{event_at.datetime}} ha cambiado de estado: {{status}}.",
            subject: "Tu cita del {{event_at.date}}: {{status}}", [
                "Tu cita{{#service}} para {{service}}{{/service}} del {{event_at.datetime_long}} ha cambiado de estado.",
                "Estado actual: {{status}}",
            ], links: [("Gestionar mi cita", "manage_url")]),
        BuiltinText("lead.status_changed", "es",
            sms: "{{location.name}}: tu solicitud ha cambiado de estado: {{status}}.",
            subject: "Tu solicitud: {{status}}", [
                "Tu solicitud{{#lead.subject}} sobre «{{lead.subject}}»{{/lead.subject}} ha cambiado de estado.",
                "Estado actual: {{status}}",
            ]),
        BuiltinText("staff.appointment.created", "es",
            sms: "Nueva cita: {{client.name}}, {{event_at.datetime}}{{#service}} ({{service}}){{/service}}.",
            subject: "Nueva cita: {{client.name}}, {{event_at.datetime}}", greeting: "Hola, equipo:", [
                "{{client.name}} ha reservado{{#service}} {{service}}{{/service}} para el {{event_at.datetime_long}}.",
                "{{#client.phone}}Teléfono: {{client.phone}}{{/client.phone}}{{#client.email}}\nCorreo: {{client.email}}{{/client.email}}",
            ]),
        BuiltinText("staff.appointment.time_changed", "es",
            sms: "Cita movida: {{client.name}}, {{previous_event_at.datetime}} → {{event_at.datetime}}.",
            subject: "Cita movida: {{client.name}}, ahora {{event_at.datetime}}", greeting: "Hola, equipo:", [
                "La cita de {{client.name}}{{#service}} para {{service}}{{/service}} ha cambiado de hora.",
                "Antes: {{previous_event_at.datetime_long}}\nAhora: {{event_at.datetime_long}}",
            ]),
        BuiltinText("staff.appointment.cancelled", "es",
            sms: "Cita cancelada: {{client.name}}, {{event_at.datetime}}.",
            subject: "Cita cancelada: {{client.name}}, {{event_at.datetime}}", greeting: "Hola, equipo:", [
                "Se ha cancelado la cita de {{client.name}}{{#service}} para {{service}}{{/service}} del {{event_at.datetime_long}}.",
                "{{#reason}}Motivo: {{reason}}{{/reason}}",
            ]),
        BuiltinText("staff.appointment.status_changed", "es",
            sms: "Cita de {{client.name}}, {{event_at.datetime}}: {{status}}.",
            subject: "Cita de {{client.name}}, {{event_at.datetime}}: {{status}}", greeting: "Hola, equipo:", [
                "La cita de {{client.name}} del {{event_at.datetime_long}} está ahora: {{status}}.",
            ]),
        BuiltinText("staff.lead.created", "es",
            sms: "Nueva consulta de {{client.name}}{{#lead.subject}}: {{lead.subject}}{{/lead.subject}}.",
            subject: "Nueva consulta de {{client.name}}", greeting: "Hola, equipo:", [
                "{{client.name}} ha enviado una consulta{{#lead.subject}} sobre «{{lead.subject}}»{{/lead.subject}}.",
                "{{#client.phone}}Teléfono: {{client.phone}}{{/client.phone}}{{#client.email}}\nCorreo: {{client.email}}{{/client.email}}",
            ]),
    ]
}
