"""Reading whether a message asks how to reach the shop ("is there a number I can call?", "¿cómo los
contacto?", "nomor CS berapa?") rather than asks for a person now ("I want to talk to a human").

The intent model reads both as `human_agent`. A customer asking how to reach the shop gets the help
centre's contact details at once, with the offer of a colleague; handing the conversation over
instead makes them wait for a reply to a question the help centre answers. Rules, not a model: a
request for a person, a call back or a manager still hands over whatever else it says.
"""

from __future__ import annotations

import re

from carebot.graph.action_words import plain_text

# Asking for a way to reach the shop: a phone number, an email address, opening hours, a contact page.
_HOW_TO_REACH = re.compile(
    r"\b("
    # English
    r"how (do|can|could|would|should) (i|we|you) (contact|reach|call|phone|ring|email|e-mail|message|write to|"
    r"get (hold of|in touch with|through to)|speak to|talk to)|"
    r"(is there|are there|do (you|u|ya) have|have (you|u) got|got) (a |an |any )?(phone|telephone|number|email|"
    r"e-mail|hotline|helpline|contact|whatsapp|live chat|chat support|phone support|support line)|"
    r"(what is|whats|what's|where is|wheres|where's|where can i find) (your|ur|the) (phone|telephone|"
    r"number|email|e-mail|contact|hotline|helpline|whatsapp|address|opening hours|hours)|"
    # When the shop answers: its hours
    r"(when|what time|what hours|which days|what days) (is|are|do|does) (you|u|your (team|staff|shop|store|"
    r"support|customer service)|customer (service|support)|support|the (shop|store|team)) (open|available|"
    r"online|around|answer|reply|respond|work)|"
    r"(are|r) (you|u) (open|available|online) (on|at|today|tonight|tomorrow|now|this|weekends?|sundays?|"
    r"saturdays?|holidays?|24)|"
    r"(opening|business|office|support|customer service) hours|"
    r"(phone|contact|customer service|customer support|support|helpline|hotline) (number|details|info|email|"
    r"address|hours)|"
    r"(can|could) i (just |also )?(call|phone|ring|email) (you|your|the|someone|somebody)|"
    r"(best|easiest|quickest|fastest) way to (reach|contact|get hold of|get in touch with|talk to|speak to)|"
    r"(is|are) (someone|anyone|somebody|your team|your staff|support|customer service) (available|around|working|"
    r"online|there) (at|on|over|during|in the|at the) ?(weekends?|evenings?|nights?|sundays?|saturdays?|holidays?)|"
    r"do you (offer|have) (phone|telephone|live chat|chat|email) support|"
    # Spanish (accents stripped)
    r"como (los|las|les|te|le)? ?(contacto|contacte|contactamos|llamo|escribo|comunico|localizo)|"
    r"(hay|tienen|tienes) (un|una|algun|alguna)? ?(telefono|numero|correo|email|whatsapp|chat|linea)|"
    r"(cual es|donde encuentro) (el|su|tu|un) (telefono|numero|correo|email|"
    r"whatsapp|horario|contacto)|"
    r"(telefono|numero|correo|email) de (atencion|contacto|servicio|soporte)|"
    r"(puedo|se puede) (llamar|escribir)(les|le|los)?|"
    r"(a que hora|que horario|cuando) (abren|atienden|cierran|contestan|responden)|"
    r"horarios? de (atencion|servicio|soporte|la tienda)|(estan|estas) (abiertos|abierta|abierto) (el|los|hoy|manana)|"
    r"atienden (el|los|hoy|manana|en) |"
    # Indonesian
    r"(gimana|bagaimana|gmn|cara) (cara )?(hubungi|menghubungi|kontak|mengontak|telepon|menelepon|nelpon|"
    r"telp|email|chat)|"
    r"(nomor|nomer|no) (telepon|telpon|telp|hp|wa|whatsapp|cs|customer service|kontak|layanan)|"
    r"(ada|punya) (nomor|nomer|telepon|telpon|email|wa|whatsapp|kontak)|"
    r"(bisa|boleh) (ditelepon|telepon|nelpon|telp|dihubungi)|"
    r"jam (buka|operasional|kerja|layanan|online)|(cs|admin|toko) (buka|aktif|online|libur) (jam|hari)|"
    r"(buka|libur) (hari )?(sabtu|minggu|tanggal merah|hari libur)"
    r")\b"
)
# Asking for a person now, or to be called back, or demanding a way to reach one ("give me the
# number", "minta nomor CS", "pásame el teléfono"): a hand-over, however it is put.
_WANTS_PERSON_NOW = re.compile(
    r"\b(human|person|real (person|people|staff)|agent|manager|supervisor|someone real|call me|call back|"
    r"callback|ring me|phone me|persona|humano|agente|encargado|gerente|supervisor|llamenme|llamame|"
    r"orang|manusia|agen|atasan|telepon saya|telpon saya|hubungi saya|telp saya|"
    r"give me|send me|minta|kasih|kasi|bagi|dame|pasame|mandame|pasenme|denme)\b"
)


# Said to the shop ("are you open on sundays", "whats ur phone number"): how to reach the shop,
# not the post office's hours ("what time does the post office open").
_TO_THE_SHOP = re.compile(r"\b(you|u|your|ur|ya|kalian|anda|kakak|kak|min|ustedes|usted|su|sus|tu|tus|te)\b")


def asks_the_shop_how_to_reach_it(text: str) -> bool:
    """`asks_how_to_reach`, said to the shop: worth answering even when the classifier reads it as
    being about something else (opening hours sound like any business's)."""
    return asks_how_to_reach(text) and _TO_THE_SHOP.search(plain_text(text)) is not None


def asks_how_to_reach(text: str) -> bool:
    """Whether the message asks how to reach the shop (a number, an email, hours), without asking
    for a person now ("can I talk to a human", "call me back", "give me the number")."""
    plain = plain_text(text)
    return _HOW_TO_REACH.search(plain) is not None and _WANTS_PERSON_NOW.search(plain) is None


# Which way of reaching the shop a question names: a phone, or its hours (accents stripped).
_ASKS_PHONE = re.compile(
    r"\b(phone|call|ring|number|hotline|helpline|telephone|telefono|llamar|llamo|llamarlos|numero|telepon|telpon|"
    r"telp|nelpon|ditelepon|nomor|nomer)\b"
)
_ASKS_HOURS = re.compile(
    r"\b(hours|open|available|weekends?|sundays?|saturdays?|holidays?|what time|horarios?|abren|atienden|abiertos?|"
    r"jam|buka|libur)\b"
)


def contact_search_key(text: str) -> str:
    """The phrase (`phrases.py`) that searches the help centre for how to reach the shop: the words of
    a phone line or of opening hours when the question names one ("can i ring you", "are you open on
    sundays"), so a help centre with a row for each answers with it; otherwise those of a contact page."""
    plain = plain_text(text)
    if _ASKS_HOURS.search(plain):
        return "contact_search_hours"
    if _ASKS_PHONE.search(plain):
        return "contact_search_phone"
    return "contact_search"


# Words of a request for someone, help or a way to reach the shop (accents stripped): what a
# genuine ask for a person says in some way ("real person pls", "can i talk to someone", "necesito
# un asesor", "mau ngobrol sama CS", "this bot is useless, get me help").
_SOMEONE = re.compile(
    r"\b(human|humans|person|people|someone|somebody|anyone|anybody|agents?|staff|reps?|representative|"
    r"manager|supervisor|operator|employee|colleague|team|boss|owner|real|live|bot|robot|machine|ai|automated|"
    r"talk|speak|chat|call\w*|ring|phone (me|us|call)|(by|on the|over the) phone|hotline|helpline|contact\w*|"
    r"reach|escalat\w*|transfer|connect|hand me|"
    r"help|assist\w*|support|service|care|complain\w*|"
    r"personas?|humanos?|alguien|gente|agentes?|asesora?|ejecutiv\w*|representante|operadora?|encargado|responsable|"
    r"vendedor\w*|gerente|empleado|equipo|habl\w*|charlar|conversar|llam\w*|videollamada|comuni\w*|"
    r"transferir|pas\w*me|pasen|pasar|ayud\w*|atencion|soporte|queja|reclam\w*|"
    r"orang|urang|manusia|agen|cs|admin\w*|mimin|min|petugas\w*|staf|karyawan|atasan\w*|manajer\w*|pemilik|pihak|"
    r"tim|sales|bicar\w*|berbicara|ngomong|ngobrol|\w*tele?p\w*|nelpon|\w*hubungi|kontak|\w*sambung\w*|alihkan|"
    r"eskalasi|bantu|bantuan|tolong|layanan|komplain|keluhan)\b"
)


def names_someone(text: str) -> bool:
    """Whether the message speaks of a person, of help, or of reaching the shop in any way. A message
    the intent model reads as a request for a person that does none of this ("is there a rewards
    club", "can i shop from my phone with an app") is a question the help centre may answer."""
    plain = plain_text(text)
    return any(words.search(plain) is not None for words in (_SOMEONE, _WANTS_PERSON_NOW, _HOW_TO_REACH))
