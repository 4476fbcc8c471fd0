import Foundation
import HeraldRender

/// The pages a client sees from an answer link, in Spanish, French or English (the
/// reminder's language, else the browser's): the appointment (where, when, in the client's
/// zone) with two buttons, and what answering did. Pure: the route gathers the facts.
struct AnswerPage: Sendable {
    let language: String

    /// What the page says about the appointment.
    struct Appointment: Sendable {
        var place: String?
        /// Already formatted in the client's language and zone ("martes 10 de mayo a las 13:00").
        var when: String?
    }

    /// Formats `date` the way the templates do (`.datetime`), in `zone`.
    static func when(_ date: Date?, language: String, zone: String) -> String? {
        guard let date, let timeZone = TimeZone(identifier: zone) else { return nil }
        return LocaleFormatter(locale: language, timeZone: timeZone).dateTime(date) + " (\(zone))"
    }

    private var t: [String: String] {
        switch language {
        case "es": return [
            "title": "Tu cita", "intro": "Tienes una cita", "at": "en", "on": "el",
            "ask": "¿Vas a venir?", "confirm": "Confirmar mi cita", "decline": "No podré ir: cancelar mi cita",
            "confirmed": "Gracias: tu cita está confirmada.", "declined": "Tu cita queda cancelada. Hemos avisado al negocio.",
            "already_confirmed": "Ya habías confirmado esta cita.", "already_declined": "Ya habías cancelado esta cita. Para pedir otra, ponte en contacto con el negocio.",
            "cancelled": "Esta cita fue cancelada por el negocio.", "started": "Esta cita ya ha empezado: ya no se puede responder.",
            "invalid": "Este enlace no es válido o está incompleto. Copia el enlace completo del mensaje.",
            "expired": "Este enlace ha caducado: la hora de la cita ya pasó.",
            "gone": "Ya no encontramos esta cita. Ponte en contacto con el negocio.",
            "choose": "Elige una de las dos respuestas.",
            "unavailable": "No hemos podido registrar tu respuesta ahora mismo. Vuelve a intentarlo en unos minutos."]
        case "fr": return [
            "title": "Votre rendez-vous", "intro": "Vous avez rendez-vous", "at": "chez", "on": "le",
            "ask": "Viendrez-vous ?", "confirm": "Confirmer mon rendez-vous", "decline": "Je ne pourrai pas venir : annuler",
            "confirmed": "Merci : votre rendez-vous est confirmé.", "declined": "Votre rendez-vous est annulé. L’établissement a été prévenu.",
            "already_confirmed": "Vous aviez déjà confirmé ce rendez-vous.", "already_declined": "Vous aviez déjà annulé ce rendez-vous. Pour en prendre un autre, contactez l’établissement.",
            "cancelled": "Ce rendez-vous a été annulé par l’établissement.", "started": "Ce rendez-vous a déjà commencé : il n’est plus possible de répondre.",
            "invalid": "Ce lien n’est pas valide ou est incomplet. Copiez le lien entier depuis le message.",
            "expired": "Ce lien a expiré : l’heure du rendez-vous est passée.",
            "gone": "Ce rendez-vous est introuvable. Contactez l’établissement.",
            "choose": "Choisissez l’une des deux réponses.",
            "unavailable": "Votre réponse n’a pas pu être enregistrée pour l’instant. Réessayez dans quelques minutes."]
        default: return [
            "title": "Your appointment", "intro": "You have an appointment", "at": "at", "on": "on",
            "ask": "Will you come?", "confirm": "Confirm my appointment", "decline": "I can't come: cancel it",
            "confirmed": "Thank you: your appointment is confirmed.", "declined": "Your appointment is cancelled. The business has been told.",
            "already_confirmed": "You had already confirmed this appointment.", "already_declined": "You had already cancelled this appointment. To book again, contact the business.",
            "cancelled": "This appointment was cancelled by the business.", "started": "This appointment has already begun: it can no longer be answered.",
            "invalid": "This link is not valid or is incomplete. Copy the whole link from the message.",
            "expired": "This link has expired: the appointment time has passed.",
            "gone": "We can no longer find this appointment. Please contact the business.",
            "choose": "Choose one of the two answers.",
            "unavailable": "We could not record your answer just now. Please try again in a few minutes."]
        }
    }

    private func text(_ key: String) -> String { t[key] ?? key }

    /// The sentence that says which appointment this is.
    private func describe(_ a: Appointment) -> String {
        var line = text("intro")
        if let place = a.place { line += " \(text("at")) <strong>\(HTMLPage.escape(place))</strong>" }
        if let when = a.when { line += " \(text("on")) <strong>\(HTMLPage.escape(when))</strong>" }
        return "<p>\(line).</p>"
    }

    /// The page with both buttons (what a `GET` shows); `note` says where things stand.
    func ask(_ a: Appointment, highlight: String?, note: String? = nil) -> String {
        let confirm = HTMLPage.button(text("confirm"), name: "action", value: "confirm", colour: "#1a56db")
        let decline = HTMLPage.button(text("decline"), name: "action", value: "decline", colour: "#b91c1c")
        let buttons = highlight == "decline" ? decline + confirm : confirm + decline
        let status = note.map { "<p role=\"status\">\(HTMLPage.escape(text($0)))</p>" } ?? ""
        return document(describe(a) + status + "<form method=\"post\" aria-label=\"\(HTMLPage.escape(text("ask")))\">"
                        + "<p>\(HTMLPage.escape(text("ask")))</p>\(buttons)</form>")
    }

    /// A page that only says something (`confirmed`, `declined`, `already_declined`, …).
    func say(_ key: String, _ a: Appointment? = nil, alert: Bool = false) -> String {
        let role = alert ? "alert" : "status"
        return document((a.map(describe) ?? "") + "<p role=\"\(role)\"><strong>\(HTMLPage.escape(text(key)))</strong></p>")
    }

    private func document(_ body: String) -> String {
        HTMLPage(language: language, title: text("title")).document(body)
    }
}
