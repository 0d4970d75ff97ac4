//! Every word of the waiting room and the meeting, in Italian and English. The page shows some
//! and hands all of them to `room.js`, which speaks in the same language.

use ricevo_core::Lang;
use serde::Serialize;

/// The texts of the virtual office in one language.
#[derive(Debug, Serialize)]
pub(crate) struct RoomTexts {
    /// Title of the waiting room page.
    pub title: &'static str,
    /// Shown until the script runs.
    pub js_needed: &'static str,
    /// Heading of the device check.
    pub check_title: &'static str,
    /// What the device check is for.
    pub check_intro: &'static str,
    /// Camera select label.
    pub camera: &'static str,
    /// Microphone select label.
    pub microphone: &'static str,
    /// Label of the level meter.
    pub level: &'static str,
    /// Continue with camera and microphone.
    pub go_full: &'static str,
    /// Continue with the microphone only.
    pub go_audio: &'static str,
    /// Continue without devices.
    pub go_none: &'static str,
    /// The browser has no media devices API.
    pub no_devices_api: &'static str,
    /// The citizen refused access.
    pub devices_denied: &'static str,
    /// Camera and microphone work.
    pub devices_ok: &'static str,
    /// Only the microphone works.
    pub camera_missing: &'static str,
    /// Heading of the waiting room.
    pub waiting_title: &'static str,
    /// Waiting.
    pub waiting: &'static str,
    /// Asked to wait by the office.
    pub held: &'static str,
    /// Next in line.
    pub you_are_next: &'static str,
    /// Position, `{n}`.
    pub position: &'static str,
    /// Estimated wait, `{n}` minutes.
    pub estimate: &'static str,
    /// Early by `{n}` minutes.
    pub early: &'static str,
    /// Late by `{n}` minutes.
    pub late: &'static str,
    /// Heading of the office's message.
    pub message_from_office: &'static str,
    /// Leave the queue.
    pub leave_queue: &'static str,
    /// After leaving the queue.
    pub left_queue: &'static str,
    /// Connection dropped, coming back.
    pub reconnecting: &'static str,
    /// The server is restarting (an update): the page reconnects by itself.
    pub restarting: &'static str,
    /// Heading of the meeting.
    pub meeting_title: &'static str,
    /// Your own video.
    pub you: &'static str,
    /// Turn the microphone off.
    pub mic_off: &'static str,
    /// Turn the microphone on.
    pub mic_on: &'static str,
    /// Turn the camera off.
    pub cam_off: &'static str,
    /// Turn the camera on.
    pub cam_on: &'static str,
    /// Share the screen.
    pub share: &'static str,
    /// Stop sharing.
    pub stop_share: &'static str,
    /// Sharing failed.
    pub share_failed: &'static str,
    /// The screen of `{name}`.
    pub screen_of: &'static str,
    /// Audio only switch (saves data on weak connections).
    pub audio_only: &'static str,
    /// Leave the meeting.
    pub leave: &'static str,
    /// After leaving.
    pub left: &'static str,
    /// End the meeting for everyone.
    pub end: &'static str,
    /// Confirmation of ending.
    pub end_confirm: &'static str,
    /// Participants heading.
    pub participants: &'static str,
    /// Muted marker.
    pub muted: &'static str,
    /// Mute a participant.
    pub mute: &'static str,
    /// Remove a participant.
    pub remove: &'static str,
    /// The official muted you.
    pub muted_by_official: &'static str,
    /// The official lets you speak again.
    pub unmuted_by_official: &'static str,
    /// Ask the official to speak.
    pub ask_to_speak: &'static str,
    /// Sent the request to speak.
    pub asked_to_speak: &'static str,
    /// `{name}` asks to speak.
    pub asks_to_speak: &'static str,
    /// Let a muted participant speak again.
    pub unmute: &'static str,
    /// Heading of the people the official removed.
    pub removed_people: &'static str,
    /// Let a removed participant back in.
    pub readmit: &'static str,
    /// Chat heading.
    pub chat: &'static str,
    /// Chat input label.
    pub chat_label: &'static str,
    /// Send.
    pub send: &'static str,
    /// Documents heading.
    pub documents: &'static str,
    /// File input label.
    pub document_label: &'static str,
    /// Upload.
    pub upload: &'static str,
    /// Uploading.
    pub uploading: &'static str,
    /// Uploaded.
    pub uploaded: &'static str,
    /// Upload failed.
    pub upload_failed: &'static str,
    /// File too large.
    pub too_large: &'static str,
    /// The media connection failed.
    pub media_failed: &'static str,
    /// Removed by the official.
    pub removed: &'static str,
    /// The appointment was cancelled.
    pub cancelled: &'static str,
    /// Refused by the office.
    pub refused: &'static str,
    /// Marked not present by the office: the wait is over.
    pub no_show: &'static str,
    /// The meeting ended.
    pub ended: &'static str,
    /// Heading of the closing page.
    pub closed_title: &'static str,
    /// Closing page text.
    pub closed_text: &'static str,
    /// The join link opens later: `{when}`.
    pub too_early: &'static str,
    /// The join link is over.
    pub over: &'static str,
    /// Heading of the window page.
    pub not_now_title: &'static str,
    /// The appointment is not a video appointment or not active.
    pub not_video: &'static str,
    /// Walk-in desk heading.
    pub walk_in_title: &'static str,
    /// Walk-in desk introduction.
    pub walk_in_intro: &'static str,
    /// Walk-in desk closed.
    pub walk_in_closed: &'static str,
    /// Name label.
    pub name: &'static str,
    /// E-mail label (optional).
    pub email_optional: &'static str,
    /// Take a ticket.
    pub take_ticket: &'static str,
    /// Ticket number `{n}`.
    pub ticket: &'static str,
    /// Your appointment.
    pub appointment: &'static str,
    /// The group of call controls.
    pub controls: &'static str,
    /// Short label of the microphone switch.
    pub mic: &'static str,
    /// Short label of the camera switch.
    pub cam: &'static str,
    /// Short label of screen sharing.
    pub share_short: &'static str,
    /// Short label of stopping the share.
    pub stop_share_short: &'static str,
    /// Short label of the participants panel.
    pub people: &'static str,
    /// Short label of the official's case panel.
    pub case_short: &'static str,
    /// Short label of leaving.
    pub leave_short: &'static str,
    /// Short label of ending for everyone.
    pub end_short: &'static str,
    /// Close a panel.
    pub close: &'static str,
    /// After the count of unread chat lines.
    pub unread: &'static str,
    /// After the count of new documents.
    pub new_documents: &'static str,
    /// A line arrived while the chat is closed: `{name}`.
    pub new_message: &'static str,
    /// Marks who is speaking.
    pub speaking: &'static str,
    /// Show a shared screen on the whole screen.
    pub full_screen: &'static str,
    /// Shown on a tile whose camera is off.
    pub camera_off: &'static str,
    /// The stage before anyone else's media arrive.
    pub nobody_yet: &'static str,
    /// Prefix of the tab title once admitted.
    pub your_turn: &'static str,
    /// Heading once admitted.
    pub your_turn_heading: &'static str,
    /// Heading of the official's case panel.
    pub case_title: &'static str,
    /// Case: name.
    pub case_name: &'static str,
    /// Case: service.
    pub case_service: &'static str,
    /// Case: booked time.
    pub case_booked: &'static str,
    /// Case: ticket number.
    pub case_ticket: &'static str,
    /// Case: reference code.
    pub case_reference: &'static str,
    /// Case: the citizen's notes.
    pub case_notes: &'static str,
    /// Case: heading of the intake answers.
    pub case_answers: &'static str,
    /// Case: heading of the documents.
    pub case_documents: &'static str,
    /// No citizen in the meeting.
    pub case_none: &'static str,
    /// No documents yet.
    pub no_documents: &'static str,
    /// No chat yet.
    pub no_chat: &'static str,
    /// Heading when the office cannot see the citizen.
    pub refused_title: &'static str,
    /// What a refusal means.
    pub refused_text: &'static str,
    /// Heading after a no-show.
    pub no_show_title: &'static str,
    /// Heading after a cancellation.
    pub cancelled_title: &'static str,
    /// Heading after being removed.
    pub removed_title: &'static str,
    /// Heading of what to do next.
    pub what_next: &'static str,
    /// Link to book again.
    pub book_again: &'static str,
    /// Link to the office's walk-in desk.
    pub walk_in_now: &'static str,
    /// Link to e-mail the town.
    pub write_office: &'static str,
}

const IT: RoomTexts = RoomTexts {
    title: "Sala d'attesa virtuale",
    js_needed: "Per la sala d'attesa e l'incontro video serve JavaScript. Attivalo nel browser e ricarica la pagina.",
    check_title: "Prova videocamera e microfono",
    check_intro: "Controlla di vederti e di sentirti. Puoi anche continuare solo con l'audio o senza dispositivi.",
    camera: "Videocamera",
    microphone: "Microfono",
    level: "Livello del microfono",
    go_full: "Continua con videocamera e microfono",
    go_audio: "Continua solo con l'audio",
    go_none: "Continua senza dispositivi",
    no_devices_api: "Questo browser non permette di usare videocamera e microfono. Puoi continuare senza.",
    devices_denied: "Non è stato possibile usare videocamera e microfono. Controlla i permessi del browser oppure continua senza.",
    devices_ok: "Videocamera e microfono funzionano.",
    camera_missing: "Il microfono funziona, la videocamera no.",
    waiting_title: "Sei in sala d'attesa",
    waiting: "Attendi: l'operatore ti farà entrare.",
    held: "L'ufficio ti chiede di attendere ancora un momento.",
    you_are_next: "Sei il prossimo.",
    position: "Posizione in coda: {n}.",
    estimate: "Attesa stimata: circa {n} minuti.",
    early: "Sei in anticipo di {n} minuti sull'orario prenotato.",
    late: "Sei in ritardo di {n} minuti sull'orario prenotato.",
    message_from_office: "Messaggio dell'ufficio",
    leave_queue: "Esci dalla coda",
    left_queue: "Sei uscito dalla coda. Puoi rientrare riaprendo il link.",
    reconnecting: "Connessione persa, riconnessione in corso…",
    restarting: "Il servizio si sta riavviando: la pagina si ricollega da sola, il tuo posto resta.",
    meeting_title: "Incontro in corso",
    you: "Tu",
    mic_off: "Spegni microfono",
    mic_on: "Accendi microfono",
    cam_off: "Spegni videocamera",
    cam_on: "Accendi videocamera",
    share: "Condividi lo schermo",
    stop_share: "Interrompi la condivisione",
    share_failed: "Non è stato possibile condividere lo schermo.",
    screen_of: "Schermo di {name}",
    audio_only: "Solo audio (consuma meno dati)",
    leave: "Esci dall'incontro",
    left: "Sei uscito dall'incontro.",
    end: "Termina l'incontro per tutti",
    end_confirm: "Terminare l'incontro per tutti i partecipanti?",
    participants: "Partecipanti",
    muted: "microfono spento",
    mute: "Spegni microfono a",
    remove: "Fai uscire",
    muted_by_official: "L'operatore ha spento il tuo microfono: gli altri non ti sentono finché non ti ridà la parola. Puoi chiedere di parlare.",
    unmuted_by_official: "L'operatore ti ha ridato la parola: puoi riaccendere il microfono.",
    ask_to_speak: "Chiedi di parlare",
    asked_to_speak: "Richiesta inviata all'operatore.",
    asks_to_speak: "{name} chiede di parlare.",
    unmute: "Ridai la parola",
    removed_people: "Persone allontanate",
    readmit: "Riammetti",
    chat: "Chat",
    chat_label: "Messaggio",
    send: "Invia",
    documents: "Documenti",
    document_label: "Scegli un documento (PDF, immagine, testo; al massimo {mb} MB)",
    upload: "Invia documento",
    uploading: "Invio in corso…",
    uploaded: "Documento inviato.",
    upload_failed: "Invio non riuscito.",
    too_large: "Il documento è troppo grande.",
    media_failed: "Il collegamento audio e video non è riuscito. Prova a ricaricare la pagina.",
    removed: "L'operatore ti ha fatto uscire dall'incontro. Potrai rientrare solo se l'ufficio ti ammette di nuovo.",
    cancelled: "L'appuntamento è stato annullato: la sala d'attesa è chiusa.",
    refused: "L'ufficio non può riceverti ora.",
    no_show: "L'ufficio ha chiuso la tua attesa perché non risultavi presente.",
    ended: "L'incontro è terminato.",
    closed_title: "Incontro terminato",
    closed_text: "Grazie per aver usato lo sportello virtuale. Puoi chiudere questa pagina.",
    too_early: "La sala d'attesa apre {when}. Torna su questo link a quell'ora.",
    over: "L'orario di questo appuntamento è passato. Se serve, prenota un nuovo appuntamento.",
    not_now_title: "Sala d'attesa non disponibile",
    not_video: "Questo appuntamento non è un incontro video attivo.",
    walk_in_title: "Sportello virtuale senza appuntamento",
    walk_in_intro: "Prendi il numero e attendi il tuo turno: l'operatore ti chiamerà in videochiamata.",
    walk_in_closed: "Lo sportello virtuale di questo ufficio ora è chiuso.",
    name: "Nome e cognome",
    email_optional: "E-mail (facoltativa)",
    take_ticket: "Prendi il numero",
    ticket: "Numero {n}",
    appointment: "Il tuo appuntamento",
    controls: "Comandi dell'incontro",
    mic: "Microfono",
    cam: "Video",
    share_short: "Schermo",
    stop_share_short: "Interrompi",
    people: "Persone",
    case_short: "Pratica",
    leave_short: "Esci",
    end_short: "Termina per tutti",
    close: "Chiudi",
    unread: "non letti",
    new_documents: "nuovi",
    new_message: "Nuovo messaggio da {name}.",
    speaking: "sta parlando",
    full_screen: "Schermo intero",
    camera_off: "videocamera spenta",
    nobody_yet: "In attesa che l'altra persona si colleghi…",
    your_turn: "Tocca a te",
    your_turn_heading: "Tocca a te: sei nell'incontro con l'ufficio",
    case_title: "Pratica del cittadino",
    case_name: "Nome",
    case_service: "Servizio",
    case_booked: "Orario prenotato",
    case_ticket: "Numero",
    case_reference: "Codice",
    case_notes: "Note del cittadino",
    case_answers: "Risposte alle domande",
    case_documents: "Documenti dell'incontro",
    case_none: "Nessun cittadino in questo incontro.",
    no_documents: "Nessun documento per ora.",
    no_chat: "Nessun messaggio per ora.",
    refused_title: "L'ufficio non può riceverti ora",
    refused_text: "Ci dispiace: in questo momento l'ufficio non può fare l'incontro con te. Qui sotto trovi come proseguire.",
    no_show_title: "La tua attesa è stata chiusa",
    cancelled_title: "Appuntamento annullato",
    removed_title: "Sei fuori dall'incontro",
    what_next: "Cosa puoi fare ora",
    book_again: "Prenota un nuovo appuntamento",
    walk_in_now: "Prendi il numero allo sportello senza appuntamento",
    write_office: "Scrivi un'e-mail al Comune",
};

const EN: RoomTexts = RoomTexts {
    title: "Virtual waiting room",
    js_needed: "The waiting room and the video meeting need JavaScript. Turn it on in your browser and reload the page.",
    check_title: "Check your camera and microphone",
    check_intro: "Make sure you can see and hear yourself. You can also go on with audio only or with no devices.",
    camera: "Camera",
    microphone: "Microphone",
    level: "Microphone level",
    go_full: "Continue with camera and microphone",
    go_audio: "Continue with audio only",
    go_none: "Continue without devices",
    no_devices_api: "This browser cannot use a camera or microphone. You can continue without them.",
    devices_denied: "Camera and microphone could not be used. Check the browser's permissions or continue without them.",
    devices_ok: "Camera and microphone work.",
    camera_missing: "The microphone works, the camera does not.",
    waiting_title: "You are in the waiting room",
    waiting: "Please wait: the official will let you in.",
    held: "The office asks you to wait a little longer.",
    you_are_next: "You are next.",
    position: "Place in the queue: {n}.",
    estimate: "Estimated wait: about {n} minutes.",
    early: "You are {n} minutes early for your booked time.",
    late: "You are {n} minutes late for your booked time.",
    message_from_office: "Message from the office",
    leave_queue: "Leave the queue",
    left_queue: "You left the queue. Open the link again to come back.",
    reconnecting: "Connection lost, reconnecting…",
    restarting: "The service is restarting: this page reconnects by itself and keeps your place.",
    meeting_title: "Meeting in progress",
    you: "You",
    mic_off: "Turn microphone off",
    mic_on: "Turn microphone on",
    cam_off: "Turn camera off",
    cam_on: "Turn camera on",
    share: "Share your screen",
    stop_share: "Stop sharing",
    share_failed: "The screen could not be shared.",
    screen_of: "Screen of {name}",
    audio_only: "Audio only (uses less data)",
    leave: "Leave the meeting",
    left: "You left the meeting.",
    end: "End the meeting for everyone",
    end_confirm: "End the meeting for all participants?",
    participants: "Participants",
    muted: "muted",
    mute: "Mute",
    remove: "Remove",
    muted_by_official: "The official muted your microphone: the others cannot hear you until the official lets you speak. You can ask to speak.",
    unmuted_by_official: "The official lets you speak again: you can turn your microphone back on.",
    ask_to_speak: "Ask to speak",
    asked_to_speak: "Request sent to the official.",
    asks_to_speak: "{name} asks to speak.",
    unmute: "Let speak",
    removed_people: "People removed",
    readmit: "Admit again",
    chat: "Chat",
    chat_label: "Message",
    send: "Send",
    documents: "Documents",
    document_label: "Choose a document (PDF, image, text; at most {mb} MB)",
    upload: "Send document",
    uploading: "Sending…",
    uploaded: "Document sent.",
    upload_failed: "Sending failed.",
    too_large: "The document is too large.",
    media_failed: "Audio and video could not connect. Try reloading the page.",
    removed: "The official removed you from the meeting. You can come back only if the office admits you again.",
    cancelled: "The appointment was cancelled: the waiting room is closed.",
    refused: "The office cannot see you now.",
    no_show: "The office closed your wait because you did not appear to be present.",
    ended: "The meeting has ended.",
    closed_title: "Meeting over",
    closed_text: "Thank you for using the virtual desk. You can close this page.",
    too_early: "The waiting room opens {when}. Come back to this link then.",
    over: "The time of this appointment has passed. Book a new one if you need to.",
    not_now_title: "Waiting room not available",
    not_video: "This appointment is not an active video meeting.",
    walk_in_title: "Virtual desk without appointment",
    walk_in_intro: "Take a number and wait for your turn: the official will call you by video.",
    walk_in_closed: "This office's virtual desk is closed now.",
    name: "Full name",
    email_optional: "E-mail (optional)",
    take_ticket: "Take a number",
    ticket: "Number {n}",
    appointment: "Your appointment",
    controls: "Meeting controls",
    mic: "Microphone",
    cam: "Camera",
    share_short: "Screen",
    stop_share_short: "Stop",
    people: "People",
    case_short: "Case",
    leave_short: "Leave",
    end_short: "End for all",
    close: "Close",
    unread: "unread",
    new_documents: "new",
    new_message: "New message from {name}.",
    speaking: "speaking",
    full_screen: "Full screen",
    camera_off: "camera off",
    nobody_yet: "Waiting for the other person to connect…",
    your_turn: "Your turn",
    your_turn_heading: "Your turn: you are in the meeting with the office",
    case_title: "The citizen's case",
    case_name: "Name",
    case_service: "Service",
    case_booked: "Booked time",
    case_ticket: "Ticket",
    case_reference: "Reference",
    case_notes: "Citizen's notes",
    case_answers: "Answers to the questions",
    case_documents: "Documents of the meeting",
    case_none: "No citizen in this meeting.",
    no_documents: "No documents yet.",
    no_chat: "No messages yet.",
    refused_title: "The office cannot see you now",
    refused_text: "We are sorry: the office cannot hold the meeting with you right now. Below is how to go on.",
    no_show_title: "Your wait was closed",
    cancelled_title: "Appointment cancelled",
    removed_title: "You are out of the meeting",
    what_next: "What you can do now",
    book_again: "Book a new appointment",
    walk_in_now: "Take a number at the desk without appointment",
    write_office: "E-mail the town",
};

/// The texts in a language.
pub(crate) fn room_texts(lang: Lang) -> &'static RoomTexts {
    match lang {
        Lang::It => &IT,
        Lang::En => &EN,
    }
}
