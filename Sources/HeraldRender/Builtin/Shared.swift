import Foundation
import HeraldCore

extension BuiltinTemplates {
    static var texts: [BuiltinText] { spanish + french + english }

    static let greetings = ["es": "Hola, {{client.name}}:", "fr": "Bonjour {{client.name}},", "en": "Hi {{client.name}},"]

    static let descriptions = [
        "appointment.pending": "Booking saved, waiting for the business to confirm it",
        "appointment.confirmed": "Booking confirmed (automatically or by the business)",
        "appointment.declined": "Booking request declined by the business",
        "appointment.cancelled": "Confirmed booking cancelled (by the business or the client)",
        "appointment.rescheduled": "Booking moved to a new time (previous_event_at -> event_at)",
        "appointment.reminder": "Reminder before the appointment, with confirm/cancel/manage links when present",
        "appointment.feedback": "Feedback request after the visit (usually postponed by an hour)",
        "appointment.recall": "Recall: weeks after the last visit, an invitation to book again (booking_url)",
        "work_order.created": "Work order registered",
        "work_order.status_changed": "Work order status changed (order.status)",
        "work_order.ready": "Work order ready for pickup",
        "lead.created": "Enquiry (lead) received",
        "appointment.status_changed": "Booking status changed (status)",
        "lead.status_changed": "Enquiry status changed (status)",
        "staff.appointment.created": "To the location's staff: new booking",
        "staff.appointment.time_changed": "To the location's staff: booking moved (previous_event_at -> event_at)",
        "staff.appointment.cancelled": "To the location's staff: booking cancelled",
        "staff.appointment.status_changed": "To the location's staff: booking status changed",
        "staff.lead.created": "To the location's staff: new enquiry",
        "appointment.client_confirmed": "To the client: thanks for confirming (answer by link or SMS reply)",
        "appointment.client_declined": "To the client: the appointment they declined is cancelled",
        "staff.appointment.client_confirmed": "To the location's staff: the client confirmed",
        "staff.appointment.client_declined": "To the location's staff: the client declined (the slot is free)",
    ]

    /// The partials the built-in templates use, in each locale.
    public static var partials: [PartialRecord] {
        let signature = [
            "es": ("Un saludo,", "Tel."), "fr": ("Cordialement,", "Tél."), "en": ("Best regards,", "Phone"),
        ]
        return locales.flatMap { locale -> [PartialRecord] in
            let (closing, phone) = signature[locale] ?? ("", "")
            return [
                PartialRecord(name: "signature", locale: locale, body: """
                    \(closing)
                    {{location.name}}{{> address}}
                    """),
                PartialRecord(name: "address", locale: locale,
                              body: "{{#location.address}}\n{{location.address}}{{/location.address}}{{#location.phone}}\n\(phone) {{location.phone}}{{/location.phone}}"),
                PartialRecord(name: "email_header_html", locale: locale, body: """
                    <!DOCTYPE html>
                    <html lang="\(locale)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{location.name}}</title></head>
                    <body style="margin:0;padding:16px;background:#f6f6f6"><div style="max-width:560px;margin:0 auto;padding:24px;background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222222">
                    """),
                PartialRecord(name: "email_footer_html", locale: locale, body: """
                    <p>\(closing)<br><strong>{{location.name}}</strong>{{#location.address}}<br>{{location.address}}{{/location.address}}{{#location.phone}}<br>\(phone) {{location.phone}}{{/location.phone}}</p>
                    </div></body></html>
                    """),
            ]
        }
    }

    /// Realistic data for one key in one locale: what lint and preview render with.
    static func sampleData(key: String, locale: String) -> String {
        var data: [String: Any]
        switch locale {
        case "es":
            data = ["client": ["name": "María"],
                    "location": ["name": "Peluquería Sol", "address": "Calle Mayor 12, 28013 Madrid", "phone": "+34 910 000 000"],
                    "event_at": "2026-05-12T13:00:00+02:00", "service": "corte y peinado"]
        case "fr":
            data = ["client": ["name": "Camille"],
                    "location": ["name": "Salon Lumière", "address": "12 rue de la Paix, 75002 Paris", "phone": "+33 1 00 00 00 00"],
                    "event_at": "2026-05-12T13:00:00+02:00", "service": "coupe et brushing"]
        default:
            data = ["client": ["name": "Emily"],
                    "location": ["name": "Bright Smile Dental", "address": "200 King St W, Toronto, ON", "phone": "+1 416 555 0100"],
                    "event_at": "2026-05-12T13:00:00-04:00", "service": "dental cleaning"]
        }
        let base = "https://book.example/b/8f3k2"
        let status = ["es": "en reparación", "fr": "en réparation", "en": "in repair"][locale] ?? "in repair"
        let device = ["es": "iPhone 13", "fr": "iPhone 13", "en": "iPhone 13"][locale] ?? "iPhone 13"
        let currency = locale == "en" ? "CAD" : "EUR"
        let order: [String: Any] = ["number": "A-1042", "device": device, "status": status,
                                    "total": ["amount": "89.90", "currency": currency]]
        switch key {
        case "appointment.pending", "appointment.confirmed", "appointment.declined", "appointment.cancelled":
            data["manage_url"] = base
        case "appointment.status_changed":
            data["manage_url"] = base
            data["status"] = ["es": "confirmada", "fr": "confirmé", "en": "confirmed"][locale] ?? "confirmed"
        case "lead.status_changed":
            data["lead"] = ["subject": ["es": "presupuesto de reparación", "fr": "devis de réparation", "en": "repair quote"][locale] ?? "repair quote"]
            data["status"] = ["es": "en estudio", "fr": "en cours d’étude", "en": "under review"][locale] ?? "under review"
        case "staff.appointment.created", "staff.appointment.cancelled", "staff.appointment.status_changed", "staff.appointment.time_changed":
            var client = data["client"] as? [String: Any] ?? [:]
            client["phone"] = "+34 600 11 22 33"
            client["email"] = "cliente@example.com"
            data["client"] = client
            data["previous_event_at"] = locale == "en" ? "2026-05-11T10:30:00-04:00" : "2026-05-11T10:30:00+02:00"
            data["status"] = ["es": "confirmada", "fr": "confirmé", "en": "confirmed"][locale] ?? "confirmed"
        case "staff.lead.created":
            var client = data["client"] as? [String: Any] ?? [:]
            client["phone"] = "+34 600 11 22 33"
            data["client"] = client
            data["lead"] = ["subject": ["es": "presupuesto de reparación", "fr": "devis de réparation", "en": "repair quote"][locale] ?? "repair quote"]
        case "appointment.rescheduled":
            data["manage_url"] = base
            data["previous_event_at"] = locale == "en" ? "2026-05-11T10:30:00-04:00" : "2026-05-11T10:30:00+02:00"
        case "appointment.reminder":
            data["manage_url"] = base
            data["confirm_url"] = base + "/confirm"
            data["cancel_url"] = base + "/cancel"
        case "appointment.feedback":
            data["feedback_url"] = "https://book.example/f/8f3k2"
        case "appointment.recall":
            data["booking_url"] = "https://book.example/r/8f3k2"
        case "work_order.created", "work_order.status_changed", "work_order.ready":
            data["order"] = order
            data["tracking_url"] = "https://repair.example/o/A-1042"
        case "lead.created":
            data["lead"] = ["subject": ["es": "presupuesto de reparación", "fr": "devis de réparation", "en": "repair quote"][locale] ?? "repair quote"]
        default:
            break
        }
        guard let json = try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys, .withoutEscapingSlashes]),
              let text = String(data: json, encoding: .utf8) else { return "{}" }
        return text
    }
}
