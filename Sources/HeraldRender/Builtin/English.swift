extension BuiltinTemplates {
    /// English.
    static let english: [BuiltinText] = [
        BuiltinText("appointment.pending", "en",
            sms: "{{location.name}}: we've received your appointment request for {{event_at.datetime}}. We'll let you know as soon as it's confirmed.",
            subject: "Appointment request received: {{event_at.date}}", [
                "We've received your appointment request{{#service}} for {{service}}{{/service}} on {{event_at.datetime}}.",
                "It isn't confirmed yet: we'll write to you as soon as we've reviewed it.",
            ], links: [("View or cancel my request", "manage_url")]),
        BuiltinText("appointment.confirmed", "en",
            sms: "{{location.name}}: your appointment on {{event_at.datetime}} is confirmed.{{#manage_url}} Manage it here: {{manage_url}}{{/manage_url}}",
            subject: "Appointment confirmed: {{event_at.datetime}}", [
                "Your appointment{{#service}} for {{service}}{{/service}} is confirmed.",
                "When: {{event_at.datetime_long}}{{#location.address}}\nWhere: {{location.address}}{{/location.address}}",
                "If you can't make it, please let us know in advance so someone else can take the slot.",
            ], links: [("Manage my appointment", "manage_url")]),
        BuiltinText("appointment.declined", "en",
            sms: "{{location.name}}: sorry, we can't accept your appointment request for {{event_at.datetime}}.{{#reason}} Reason: {{reason}}.{{/reason}} Feel free to book another time.",
            subject: "We couldn't accept your appointment request", [
                "Sorry, we can't accept your appointment request for {{event_at.datetime}}.",
                "{{#reason}}Reason: {{reason}}{{/reason}}",
                "Feel free to choose another time; we'd be glad to see you.",
            ], links: [("Book another time", "manage_url")]),
        BuiltinText("appointment.cancelled", "en",
            sms: "{{location.name}}: your appointment on {{event_at.datetime}} has been cancelled.{{#reason}} Reason: {{reason}}.{{/reason}}{{#manage_url}} Book a new time: {{manage_url}}{{/manage_url}}",
            subject: "Appointment cancelled: {{event_at.date}}", [
                "Your appointment on {{event_at.datetime}} has been cancelled.",
                "{{#reason}}Reason: {{reason}}{{/reason}}",
                "You can book a new time whenever you like.",
            ], links: [("Book a new time", "manage_url")]),
        BuiltinText("appointment.rescheduled", "en",
            sms: "{{location.name}}: your appointment has moved from {{previous_event_at.datetime}} to {{event_at.datetime}}.{{#manage_url}} Manage it here: {{manage_url}}{{/manage_url}}",
            subject: "Your appointment has moved: {{event_at.datetime}}", [
                "Your appointment{{#service}} for {{service}}{{/service}} has been rescheduled.",
                "Before: {{previous_event_at.datetime_long}}\nNow: {{event_at.datetime_long}}",
                "If the new time doesn't suit you, you can change or cancel it.",
            ], links: [("Manage my appointment", "manage_url")]),
        BuiltinText("appointment.reminder", "en",
            sms: "{{location.name}}: a reminder of your appointment{{#service}} ({{service}}){{/service}} on {{event_at.datetime}}.{{#manage_url}} To confirm or cancel: {{manage_url}}{{/manage_url}}",
            subject: "Reminder: your appointment on {{event_at.datetime}}", [
                "This is a reminder of your appointment{{#service}} for {{service}}{{/service}} on {{event_at.datetime_long}} ({{event_at.relative}}).",
                "{{#location.address}}Where: {{location.address}}{{/location.address}}",
                "If you can't make it, please let us know in advance.",
            ], links: [("Confirm my appointment", "confirm_url"), ("Cancel my appointment", "cancel_url"), ("Manage my booking", "manage_url")]),
        BuiltinText("appointment.feedback", "en",
            sms: "{{location.name}}: thanks for your visit, {{client.name}}! How did it go? {{#feedback_url}}Tell us here: {{feedback_url}}{{/feedback_url}}{{^feedback_url}}Just reply to this message.{{/feedback_url}}",
            subject: "How was your visit to {{location.name}}?", [
                "Thank you for visiting us{{#service}} for {{service}}{{/service}}. We hope everything went well.",
                "Would you tell us how it went? Your feedback helps us improve and only takes a minute.",
            ], links: [("Leave feedback", "feedback_url")]),
        BuiltinText("work_order.created", "en",
            sms: "{{location.name}}: we've registered your work order #{{order.number}}{{#order.device}} ({{order.device}}){{/order.device}}. We'll keep you posted on its progress.",
            subject: "Work order #{{order.number}} registered", [
                "We've registered your work order #{{order.number}}{{#order.device}} ({{order.device}}){{/order.device}}.",
                "We'll let you know every time its status changes.",
            ], links: [("Track my order", "tracking_url")]),
        BuiltinText("work_order.status_changed", "en",
            sms: "{{location.name}}: your work order #{{order.number}} is now: {{order.status}}.",
            subject: "Work order #{{order.number}}: {{order.status}}", [
                "The status of your work order #{{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} has changed.",
                "Current status: {{order.status}}",
            ], links: [("Track my order", "tracking_url")]),
        BuiltinText("work_order.ready", "en",
            sms: "{{location.name}}: good news, your work order #{{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} is ready for pickup.{{#order.total}} Amount due: {{order.total}}.{{/order.total}}",
            subject: "Your work order #{{order.number}} is ready for pickup", [
                "Good news! Your work order #{{order.number}}{{#order.device}} ({{order.device}}){{/order.device}} is ready for pickup.",
                "{{#order.total}}Amount due: {{order.total}}{{/order.total}}",
                "{{#location.address}}Find us at {{location.address}}.{{/location.address}}",
            ], links: [("View my order", "tracking_url")]),
        BuiltinText("lead.created", "en",
            sms: "{{location.name}}: thanks for reaching out, {{client.name}}. We've received your request and will get back to you shortly.",
            subject: "We've received your request", [
                "Thank you for contacting {{location.name}}.",
                "We've received your request{{#lead.subject}} about \"{{lead.subject}}\"{{/lead.subject}} and will get back to you as soon as possible.",
            ]),
        BuiltinText("appointment.status_changed", "en",
            sms: "{{location.name}}: your appointment on {{event_at.datetime}} is now: {{status}}.",
            subject: "Your appointment on {{event_at.date}}: {{status}}", [
                "The status of your appointment{{#service}} for {{service}}{{/service}} on {{event_at.datetime_long}} has changed.",
                "Current status: {{status}}",
            ], links: [("Manage my booking", "manage_url")]),
        BuiltinText("lead.status_changed", "en",
            sms: "{{location.name}}: your request is now: {{status}}.",
            subject: "Your request: {{status}}", [
                "The status of your request{{#lead.subject}} about \"{{lead.subject}}\"{{/lead.subject}} has changed.",
                "Current status: {{status}}",
            ]),
        BuiltinText("staff.appointment.created", "en",
            sms: "New booking: {{client.name}}, {{event_at.datetime}}{{#service}} ({{service}}){{/service}}.",
            subject: "New booking: {{client.name}}, {{event_at.datetime}}", greeting: "Hello team,", [
                "{{client.name}} booked{{#service}} {{service}}{{/service}} for {{event_at.datetime_long}}.",
                "{{#client.phone}}Phone: {{client.phone}}{{/client.phone}}{{#client.email}}\nEmail: {{client.email}}{{/client.email}}",
            ]),
        BuiltinText("staff.appointment.time_changed", "en",
            sms: "Booking moved: {{client.name}}, {{previous_event_at.datetime}} → {{event_at.datetime}}.",
            subject: "Booking moved: {{client.name}}, now {{event_at.datetime}}", greeting: "Hello team,", [
                "{{client.name}}'s booking{{#service}} for {{service}}{{/service}} has moved.",
                "Before: {{previous_event_at.datetime_long}}\nNow: {{event_at.datetime_long}}",
            ]),
        BuiltinText("staff.appointment.cancelled", "en",
            sms: "Booking cancelled: {{client.name}}, {{event_at.datetime}}.",
            subject: "Booking cancelled: {{client.name}}, {{event_at.datetime}}", greeting: "Hello team,", [
                "{{client.name}}'s booking{{#service}} for {{service}}{{/service}} on {{event_at.datetime_long}} was cancelled.",
                "{{#reason}}Reason: {{reason}}{{/reason}}",
            ]),
        BuiltinText("staff.appointment.status_changed", "en",
            sms: "Booking {{client.name}}, {{event_at.datetime}}: {{status}}.",
            subject: "Booking {{client.name}}, {{event_at.datetime}}: {{status}}", greeting: "Hello team,", [
                "The booking of {{client.name}} on {{event_at.datetime_long}} is now: {{status}}.",
            ]),
        BuiltinText("staff.lead.created", "en",
            sms: "New enquiry from {{client.name}}{{#lead.subject}}: {{lead.subject}}{{/lead.subject}}.",
            subject: "New enquiry from {{client.name}}", greeting: "Hello team,", [
                "{{client.name}} sent an enquiry{{#lead.subject}} about \"{{lead.subject}}\"{{/lead.subject}}.",
                "{{#client.phone}}Phone: {{client.phone}}{{/client.phone}}{{#client.email}}\nEmail: {{client.email}}{{/client.email}}",
            ]),
    ]
}
