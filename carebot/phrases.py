"""The bot's fixed wording, in each customer language (en, id, es).

Used for hand-over messages and order facts (whatever the model) and by the offline responder
to compose answers. Every language has every key; a test checks that.
"""

from __future__ import annotations

from carebot.domain import Order, OrderLookup

LANGUAGE_NAMES = {"en": "English", "id": "Bahasa Indonesia", "es": "Spanish"}

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hi{name}! I'm the {shop} assistant. I can help with your orders, shipping, returns, "
        "payments and your account. What can I do for you?",
        "thanks": "You're welcome{name}! Anything else I can help with?",
        "kb_lead": "Here's what our help centre says:",
        "source": "Source",
        "order_line": "Order {number}: {status}",
        "items": "Items: {items}",
        "carrier": "Carrier: {carrier}, tracking {tracking}",
        "expected": "Expected delivery: {date}",
        "delivered": "Delivered on {date}",
        "ordered": "Ordered on {date}",
        "choose": "You have {count} orders in progress:",
        "choose_ask": "Which one would you like to know about? Reply with the order number.",
        "not_found": "I couldn't find order {number} among the orders I can show you. Please check the "
        "number, or reply with the email address or phone number on your account and I'll send you a "
        "one-time code to verify you.",
        "no_orders": "I can't see any orders on your account yet.",
        "unknown_customer": "To show your orders I first need to verify you. Please reply with the email "
        "address or phone number on your account, and I'll send a one-time code to it.",
        "verify_still_needed": "Thanks{noted}. Before I can show any order I still need to verify you: please "
        "reply with the email address or phone number on your account (not the order number), and I'll send a "
        "one-time code to it.",
        "verify_noted_order": ", I've noted order {number}",
        "code_sent": "If that matches an account, I've sent a 6-digit code to the email address or phone "
        "number on file. Please reply with the code (it is valid for 10 minutes).",
        "code_wrong": "That code isn't right. Please check it and reply with the 6-digit code again.",
        "code_expired": "That code is no longer valid. Reply with the email address or phone number on your "
        "account and I'll send a new one.",
        "code_subject": "Your {shop} verification code",
        "code_body": "Your {shop} verification code is {code}. It is valid for 10 minutes.\n\n"
        "If you didn't ask for it, ignore this message: nobody can see your orders without it.",
        "stop_confirmed": "You won't get any more messages from {shop}. Reply START to hear from us again.",
        "start_confirmed": "Welcome back! You'll get our replies again. How can I help?",
        "rate_limited": "You're sending messages faster than I can answer. Please wait a minute; messages "
        "sent in the meantime are kept but not answered.",
        "unavailable": "I can't check orders right now. I've passed your question to a colleague, who will "
        "get back to you.",
        "change_lead": "About changing or cancelling an order:",
        "text_only": "Thanks! I can only read text messages for now. Could you write your question in a message?",
        "complaint": "I'm sorry about this experience, and thank you for telling us.",
        "complaint_offer_human": "I'm really sorry about this, and I understand it's frustrating. Would you "
        'like me to pass you to a colleague? Reply "yes", or tell me what went wrong and I\'ll do what I can.',
        "no_answer": "I don't have a reliable answer to that in our help centre.",
        "also_asked": "You also asked about {topic}: send me that question on its own and I'll answer it too.",
        "topic_order_status": "your order",
        "topic_order_change": "changing your order",
        "topic_shipping": "shipping",
        "topic_returns_refunds": "returns and refunds",
        "topic_payment": "payment",
        "topic_account": "your account",
        "topic_product": "our products",
        "topic_human_agent": "talking to a person",
        "ask_topic": "I want to be sure I help with the right thing. Is your question about:\n{choices}\n"
        "Reply with the number, or tell me a bit more.",
        "escalate_human_requested": "Of course. I've passed this conversation to a colleague, who will reply "
        "here as soon as possible (Mon–Fri 8:00–20:00, Sat 9:00–14:00).",
        "declined": "Sorry, that's not something I can help with. I can answer questions about {shop}: your "
        "orders, shipping, returns and refunds, payments, your account and our products.",
        "not_sure": "I'm not sure I understood. Could you say it in other words? Or, if you prefer, reply "
        '"yes" and I\'ll pass you to a colleague.',
        "contact_search": "contact customer service phone email hours",
        "contact_search_phone": "phone support call us number",
        "contact_search_hours": "business hours customer service available",
        "contact_offer_human": "If you'd rather talk to a colleague here in the chat, reply \"yes\" and I'll pass "
        "you on.",
        "escalate_repeated_question": "I'm sorry I couldn't help with this. I've passed the conversation to a "
        "colleague, who will reply here as soon as possible.",
        "handoff_wait": "Thanks for waiting. Everyone on our team is busy right now; your messages are saved and a "
        "colleague will reply here as soon as they're free. You don't need to write again.",
        "support_hours": "Our team answers {hours}.",
        "escalate_negative_sentiment": "I'm really sorry about this. I've passed your message to a colleague, "
        "who will get back to you personally as soon as possible.",
        "escalate_low_relevance": "I don't have a reliable answer to that, so I've passed your question to a "
        "colleague, who will reply here soon.",
        "escalate_guardrail": "I'd rather have a colleague answer this one properly. I've passed it on, and "
        "they will reply here soon.",
        "escalate_order_unavailable": "I can't check orders right now. I've passed your question to a "
        "colleague, who will get back to you.",
        "escalate_verification_failed": "I couldn't verify your account, so I've passed this to a colleague, "
        "who will help you.",
        # Actions on an order (graph/actions.py): gathering, the confirmation, the outcome.
        "action_verb_cancel": "cancel",
        "action_verb_change_address": "send to a new address",
        "action_verb_change_items": "change items on",
        "action_verb_return": "return items from",
        "action_verb_exchange": "exchange items from",
        "action_past_cancel": "cancelled",
        "action_past_change_address": "sent to a new address",
        "action_past_change_items": "changed",
        "action_past_return": "returned",
        "action_past_exchange": "exchanged",
        "action_ask_order": "Which order would you like to {verb}? Reply with its number:\n{choices}",
        "action_ask_items": "Which item from order {number}? Reply with the number (or “all”):\n{choices}",
        "action_ask_reason": "Why would you like to cancel order {number}? Reply with the number:\n{choices}",
        "action_ask_address": "What is the new delivery address for order {number}? Please write it on one line: "
        "street and number, apartment (if any), city, state (if any), postcode, country.",
        "action_ask_variant": "What would you like instead of {item}? Reply with the number:\n{choices}",
        "action_ask_refund": "Where should the refund of {amount} go? Reply with the number:\n{choices}",
        "action_ask_payment_pay": "That costs {amount} more. How would you like to pay the difference? "
        "Reply with the number:\n{choices}",
        "action_ask_payment_refund": "That costs {amount} less. Where should the difference go? "
        "Reply with the number:\n{choices}",
        "action_again": "Sorry, I didn't catch that. ",
        "action_original_method": "{method} (the original payment)",
        "action_confirm": "{change} {money}\nReply “yes” to confirm, or “no” to leave it as it is.",
        "action_change_cancel": "Please confirm: cancel order {number} ({items}), reason: {reason}.",
        "action_change_change_address": "Please confirm: deliver order {number} to {address} (instead of {old}).",
        "action_change_change_items": "Please confirm: on order {number}, change {changes}. Items on an order can "
        "be changed only once.",
        "action_change_return": "Please confirm: return {items} from order {number}.",
        "action_change_exchange": "Please confirm: exchange {changes} from order {number}.",
        "action_swap": "{item} → {variant}",
        "action_money_refund": "{amount} will be refunded to {method}.",
        "action_money_pay": "You pay the difference of {amount} with {method}.",
        "action_money_charged": "The difference of {amount} has been charged to {method}.",
        "action_money_later_refund": "{amount} will be refunded to {method} once the items are back with us.",
        "action_money_later_pay": "The difference of {amount} will be charged to {method} when we send the new item.",
        "action_money_none": "There is no price difference.",
        "action_done_cancel": "Done: order {number} is cancelled. {money}",
        "action_done_change_address": "Done: order {number} will be delivered to {address}.",
        "action_done_change_items": "Done: order {number} now has {changes}. {money}",
        "action_done_return": "Done: the return of {items} from order {number} is requested. {money} "
        "Please send the items back as our returns guide describes.",
        "action_done_exchange": "Done: the exchange of {changes} from order {number} is requested. {money}",
        "action_declined": "OK, I haven't changed anything on order {number}.",
        "action_refused_status": "Sorry, order {number} can't be {past} any more: it is {status}. That is only "
        "possible while an order is {allowed}. Would you like me to pass you to a colleague? Reply “yes”.",
        "action_refused_window": "Sorry, order {number} was delivered more than {days} days ago, so it can't be "
        "{past} any more. Would you like me to pass you to a colleague? Reply “yes”.",
        "action_refused_once": "Sorry, the items on order {number} have already been changed once, and they can "
        "only be changed once. Would you like me to pass you to a colleague? Reply “yes”.",
        "action_refused_unavailable": "Sorry, {item} in {wanted} isn't available right now, so I can't change it on "
        "order {number}. Would you like me to pass you to a colleague? Reply “yes”.",
        "action_another_option": "another option",
        "action_refused_gift_card_balance": "Sorry, your gift card's balance doesn't cover the difference of "
        "{amount}. Would you like me to pass you to a colleague? Reply “yes”.",
        "action_refused_not_found": "I can't find order {number} on your account, so I can't change it. Please "
        "check the number, or reply “yes” and I'll pass you to a colleague.",
        "action_refused_nothing_to_change": "Order {number} is already like that, so there is nothing to change.",
        "action_refused_policy": "Sorry, our policy doesn't allow that on order {number}. Would you like me to pass "
        "you to a colleague? Reply “yes”.",
        "action_refused_no_orders": "I can't see an order of yours that can be {past} now. Would you like me to "
        "pass you to a colleague? Reply “yes”.",
        "action_gave_up": "Sorry, I'm not getting it. I've left order {number} as it is. Would you like me to "
        "pass you to a colleague? Reply “yes”.",
        "escalate_action_rejected": "Our order system didn't accept that change, so nothing has changed yet. "
        "I'm passing you to a colleague at {shop} who will sort it out with you.",
        "escalate_quota_exceeded": "{shop}'s assistant is unavailable right now. Your message has been passed "
        "to the team, and a person will reply to you here.",
        "reason_no longer needed": "no longer needed",
        "reason_ordered by mistake": "ordered by mistake",
        "catalogue_which": "We have several: {names}. Which one do you mean?",
        "catalogue_in_stock": "The {product} is in stock in: {variants}.",
        "catalogue_none_in_stock": "Sorry, the {product} is out of stock right now.",
        "catalogue_yes": "Yes, the {product} in {option} is in stock, at {price}. All in stock: {variants}.",
        "catalogue_out_of_stock": "Sorry, the {product} in {option} is out of stock right now. In stock: {variants}.",
    },
    "id": {
        "greeting": "Halo{name}! Saya asisten {shop}. Saya bisa membantu soal pesanan, pengiriman, retur, "
        "pembayaran, dan akun Anda. Ada yang bisa saya bantu?",
        "thanks": "Sama-sama{name}! Ada lagi yang bisa saya bantu?",
        "kb_lead": "Berikut informasi dari pusat bantuan kami:",
        "source": "Sumber",
        "order_line": "Pesanan {number}: {status}",
        "items": "Barang: {items}",
        "carrier": "Kurir: {carrier}, resi {tracking}",
        "expected": "Perkiraan tiba: {date}",
        "delivered": "Diterima pada {date}",
        "ordered": "Dipesan pada {date}",
        "choose": "Anda punya {count} pesanan yang sedang diproses:",
        "choose_ask": "Pesanan mana yang ingin Anda ketahui? Balas dengan nomor pesanannya.",
        "not_found": "Saya tidak menemukan pesanan {number} di antara pesanan yang bisa saya tampilkan. "
        "Mohon periksa nomornya, atau balas dengan alamat email atau nomor telepon akun Anda dan saya akan "
        "mengirim kode sekali pakai untuk verifikasi.",
        "no_orders": "Saya belum melihat pesanan apa pun di akun Anda.",
        "unknown_customer": "Untuk menampilkan pesanan Anda, saya perlu memverifikasi Anda dulu. Mohon balas "
        "dengan alamat email atau nomor telepon akun Anda, dan saya akan mengirim kode sekali pakai ke sana.",
        "verify_still_needed": "Terima kasih{noted}. Sebelum saya bisa menampilkan pesanan, saya tetap perlu "
        "memverifikasi Anda: mohon balas dengan email atau nomor telepon akun Anda (bukan nomor pesanan), dan "
        "saya kirimkan kode sekali pakai ke sana.",
        "verify_noted_order": ", nomor pesanan {number} sudah saya catat",
        "code_sent": "Jika cocok dengan sebuah akun, saya sudah mengirim kode 6 digit ke email atau nomor "
        "telepon yang terdaftar. Mohon balas dengan kode itu (berlaku 10 menit).",
        "code_wrong": "Kode itu tidak benar. Mohon periksa dan balas lagi dengan kode 6 digit.",
        "code_expired": "Kode itu sudah tidak berlaku. Balas dengan alamat email atau nomor telepon akun Anda "
        "dan saya akan mengirim kode baru.",
        "code_subject": "Kode verifikasi {shop} Anda",
        "code_body": "Kode verifikasi {shop} Anda adalah {code}. Berlaku 10 menit.\n\n"
        "Jika Anda tidak memintanya, abaikan pesan ini: tanpa kode ini tidak ada yang bisa melihat pesanan Anda.",
        "stop_confirmed": "Anda tidak akan menerima pesan lagi dari {shop}. Balas START untuk menerima pesan "
        "kami lagi.",
        "start_confirmed": "Selamat datang kembali! Anda akan menerima balasan kami lagi. Ada yang bisa saya bantu?",
        "rate_limited": "Anda mengirim pesan lebih cepat daripada yang bisa saya jawab. Mohon tunggu sebentar; "
        "pesan yang dikirim sementara ini disimpan tetapi tidak dijawab.",
        "unavailable": "Saat ini saya tidak bisa mengecek pesanan. Pertanyaan Anda sudah saya teruskan ke "
        "rekan kami, yang akan segera menghubungi Anda.",
        "change_lead": "Tentang mengubah atau membatalkan pesanan:",
        "text_only": "Terima kasih! Untuk saat ini saya hanya bisa membaca pesan teks. Bisa tuliskan "
        "pertanyaan Anda dalam pesan?",
        "complaint": "Mohon maaf atas pengalaman ini, dan terima kasih sudah memberi tahu kami.",
        "complaint_offer_human": "Mohon maaf sekali, saya mengerti ini menjengkelkan. Mau saya teruskan ke "
        'rekan kami? Balas "ya", atau ceritakan apa yang terjadi dan saya bantu sebisanya.',
        "no_answer": "Saya tidak punya jawaban yang pasti untuk itu di pusat bantuan kami.",
        "also_asked": "Anda juga bertanya soal {topic}: kirim pertanyaan itu dalam pesan terpisah, nanti saya "
        "jawab juga.",
        "topic_order_status": "pesanan Anda",
        "topic_order_change": "mengubah pesanan",
        "topic_shipping": "pengiriman",
        "topic_returns_refunds": "retur dan refund",
        "topic_payment": "pembayaran",
        "topic_account": "akun Anda",
        "topic_product": "produk kami",
        "topic_human_agent": "bicara dengan rekan kami",
        "ask_topic": "Supaya saya bisa bantu dengan tepat, pertanyaan Anda tentang:\n{choices}\n"
        "Balas dengan nomornya, atau ceritakan sedikit lebih lengkap.",
        "escalate_human_requested": "Baik. Percakapan ini sudah saya teruskan ke rekan kami, yang akan "
        "membalas di sini secepatnya (Sen–Jum 08.00–20.00, Sab 09.00–14.00).",
        "declined": "Maaf, saya tidak bisa membantu soal itu. Saya bisa menjawab pertanyaan tentang {shop}: "
        "pesanan, pengiriman, retur dan pengembalian dana, pembayaran, akun, dan produk kami.",
        "not_sure": 'Maaf, saya kurang paham. Bisa dijelaskan dengan kata lain? Atau balas "ya" dan saya '
        "sambungkan dengan rekan kami.",
        "contact_search": "kontak hubungi layanan pelanggan telepon email jam",
        "contact_search_phone": "telepon nomor layanan pelanggan",
        "contact_search_hours": "jam operasional layanan pelanggan",
        "contact_offer_human": 'Kalau ingin bicara dengan rekan kami langsung di chat ini, balas "ya" dan saya '
        "sambungkan.",
        "escalate_repeated_question": "Maaf saya belum bisa membantu soal ini. Percakapan ini sudah saya teruskan "
        "ke rekan kami, yang akan membalas di sini secepatnya.",
        "handoff_wait": "Terima kasih sudah menunggu. Tim kami sedang sibuk; pesan Anda tersimpan dan rekan kami "
        "akan membalas di sini begitu ada yang tersedia. Anda tidak perlu menulis lagi.",
        "support_hours": "Tim kami melayani {hours}.",
        "escalate_negative_sentiment": "Mohon maaf sekali atas hal ini. Pesan Anda sudah saya teruskan ke "
        "rekan kami, yang akan menghubungi Anda secepatnya.",
        "escalate_low_relevance": "Saya tidak punya jawaban yang pasti untuk itu, jadi pertanyaan Anda sudah "
        "saya teruskan ke rekan kami, yang akan segera membalas di sini.",
        "escalate_guardrail": "Pertanyaan ini sebaiknya dijawab langsung oleh rekan kami. Sudah saya "
        "teruskan, dan mereka akan segera membalas di sini.",
        "escalate_order_unavailable": "Saat ini saya tidak bisa mengecek pesanan. Pertanyaan Anda sudah saya "
        "teruskan ke rekan kami, yang akan segera menghubungi Anda.",
        "escalate_verification_failed": "Saya tidak bisa memverifikasi akun Anda, jadi percakapan ini sudah "
        "saya teruskan ke rekan kami yang akan membantu Anda.",
        "action_verb_cancel": "batalkan",
        "action_verb_change_address": "kirim ke alamat baru",
        "action_verb_change_items": "ubah barangnya",
        "action_verb_return": "kembalikan barangnya",
        "action_verb_exchange": "tukar barangnya",
        "action_past_cancel": "dibatalkan",
        "action_past_change_address": "dikirim ke alamat baru",
        "action_past_change_items": "diubah",
        "action_past_return": "dikembalikan",
        "action_past_exchange": "ditukar",
        "action_ask_order": "Pesanan mana yang ingin Anda {verb}? Balas dengan nomornya:\n{choices}",
        "action_ask_items": "Barang mana dari pesanan {number}? Balas dengan nomornya (atau “semua”):\n{choices}",
        "action_ask_reason": "Kenapa Anda ingin membatalkan pesanan {number}? Balas dengan nomornya:\n{choices}",
        "action_ask_address": "Apa alamat pengiriman baru untuk pesanan {number}? Tulis dalam satu baris: jalan "
        "dan nomor, unit/apartemen (jika ada), kota, provinsi (jika ada), kode pos, negara.",
        "action_ask_variant": "Mau diganti dengan yang mana untuk {item}? Balas dengan nomornya:\n{choices}",
        "action_ask_refund": "Pengembalian dana sebesar {amount} mau dikirim ke mana? "
        "Balas dengan nomornya:\n{choices}",
        "action_ask_payment_pay": "Harganya {amount} lebih mahal. Selisihnya mau dibayar dengan apa? "
        "Balas dengan nomornya:\n{choices}",
        "action_ask_payment_refund": "Harganya {amount} lebih murah. Selisihnya mau dikembalikan ke mana? "
        "Balas dengan nomornya:\n{choices}",
        "action_again": "Maaf, saya kurang menangkap maksudnya. ",
        "action_original_method": "{method} (pembayaran awal)",
        "action_confirm": "{change} {money}\nBalas “ya” untuk mengonfirmasi, atau “tidak” untuk membiarkannya.",
        "action_change_cancel": "Mohon konfirmasi: batalkan pesanan {number} ({items}), alasan: {reason}.",
        "action_change_change_address": "Mohon konfirmasi: kirim pesanan {number} ke {address} (bukan ke {old}).",
        "action_change_change_items": "Mohon konfirmasi: pada pesanan {number}, ubah {changes}. Barang dalam satu "
        "pesanan hanya bisa diubah sekali.",
        "action_change_return": "Mohon konfirmasi: kembalikan {items} dari pesanan {number}.",
        "action_change_exchange": "Mohon konfirmasi: tukar {changes} dari pesanan {number}.",
        "action_swap": "{item} → {variant}",
        "action_money_refund": "{amount} akan dikembalikan ke {method}.",
        "action_money_pay": "Anda membayar selisih {amount} dengan {method}.",
        "action_money_charged": "Selisih {amount} sudah ditagihkan ke {method}.",
        "action_money_later_refund": "{amount} akan dikembalikan ke {method} setelah barangnya kami terima kembali.",
        "action_money_later_pay": "Selisih {amount} akan ditagihkan ke {method} saat barang baru kami kirim.",
        "action_money_none": "Tidak ada selisih harga.",
        "action_done_cancel": "Selesai: pesanan {number} sudah dibatalkan. {money}",
        "action_done_change_address": "Selesai: pesanan {number} akan dikirim ke {address}.",
        "action_done_change_items": "Selesai: pesanan {number} sekarang berisi {changes}. {money}",
        "action_done_return": "Selesai: pengembalian {items} dari pesanan {number} sudah diajukan. {money} "
        "Silakan kirim barangnya kembali sesuai panduan pengembalian kami.",
        "action_done_exchange": "Selesai: penukaran {changes} dari pesanan {number} sudah diajukan. {money}",
        "action_declined": "Baik, tidak ada yang saya ubah pada pesanan {number}.",
        "action_refused_status": "Maaf, pesanan {number} sudah tidak bisa {past}: statusnya {status}. Itu hanya "
        "bisa selama pesanan {allowed}. Mau saya sambungkan ke rekan kami? Balas “ya”.",
        "action_refused_window": "Maaf, pesanan {number} diterima lebih dari {days} hari yang lalu, jadi sudah tidak "
        "bisa {past}. Mau saya sambungkan ke rekan kami? Balas “ya”.",
        "action_refused_once": "Maaf, barang pada pesanan {number} sudah pernah diubah, dan hanya bisa diubah sekali. "
        "Mau saya sambungkan ke rekan kami? Balas “ya”.",
        "action_refused_unavailable": "Maaf, {item} dengan pilihan {wanted} sedang tidak tersedia, jadi tidak bisa "
        "saya ubah pada pesanan {number}. Mau saya sambungkan ke rekan kami? Balas “ya”.",
        "action_another_option": "lain",
        "action_refused_gift_card_balance": "Maaf, saldo kartu hadiah Anda tidak cukup untuk selisih {amount}. "
        "Mau saya sambungkan ke rekan kami? Balas “ya”.",
        "action_refused_not_found": "Saya tidak menemukan pesanan {number} di akun Anda, jadi tidak bisa "
        "mengubahnya. Mohon cek nomornya, atau balas “ya” dan saya sambungkan ke rekan kami.",
        "action_refused_nothing_to_change": "Pesanan {number} sudah seperti itu, jadi tidak ada yang perlu diubah.",
        "action_refused_policy": "Maaf, kebijakan kami tidak mengizinkan itu untuk pesanan {number}. Mau saya "
        "sambungkan ke rekan kami? Balas “ya”.",
        "action_refused_no_orders": "Saya tidak melihat pesanan Anda yang bisa {past} saat ini. Mau saya sambungkan "
        "ke rekan kami? Balas “ya”.",
        "action_gave_up": "Maaf, saya belum paham. Pesanan {number} saya biarkan seperti semula. Mau saya "
        "sambungkan ke rekan kami? Balas “ya”.",
        "escalate_action_rejected": "Sistem pesanan kami tidak menerima perubahan itu, jadi belum ada yang berubah. "
        "Saya sambungkan Anda ke rekan kami di {shop} yang akan membantu.",
        "escalate_quota_exceeded": "Asisten {shop} sedang tidak tersedia. Pesan Anda sudah kami teruskan ke tim, "
        "dan seorang petugas akan membalas Anda di sini.",
        "reason_no longer needed": "sudah tidak diperlukan",
        "reason_ordered by mistake": "salah pesan",
        "catalogue_which": "Kami punya beberapa: {names}. Yang mana yang Anda maksud?",
        "catalogue_in_stock": "{product} tersedia dalam pilihan: {variants}.",
        "catalogue_none_in_stock": "Maaf, {product} sedang habis saat ini.",
        "catalogue_yes": "Ya, {product} pilihan {option} tersedia, harganya {price}. Semua yang tersedia: {variants}.",
        "catalogue_out_of_stock": "Maaf, {product} pilihan {option} sedang habis. Yang tersedia: {variants}.",
    },
    "es": {
        "greeting": "¡Hola{name}! Soy el asistente de {shop}. Puedo ayudarte con tus pedidos, envíos, "
        "devoluciones, pagos y tu cuenta. ¿En qué te ayudo?",
        "thanks": "¡De nada{name}! ¿Te ayudo con algo más?",
        "kb_lead": "Esto dice nuestro centro de ayuda:",
        "source": "Fuente",
        "order_line": "Pedido {number}: {status}",
        "items": "Artículos: {items}",
        "carrier": "Paquetería: {carrier}, guía {tracking}",
        "expected": "Entrega estimada: {date}",
        "delivered": "Entregado el {date}",
        "ordered": "Pedido el {date}",
        "choose": "Tienes {count} pedidos en curso:",
        "choose_ask": "¿Sobre cuál quieres saber? Responde con el número de pedido.",
        "not_found": "No encontré el pedido {number} entre los pedidos que puedo mostrarte. Revisa el número, "
        "o responde con el correo o el teléfono de tu cuenta y te enviaré un código de un solo uso para "
        "verificarte.",
        "no_orders": "Todavía no veo pedidos en tu cuenta.",
        "unknown_customer": "Para mostrarte tus pedidos primero tengo que verificarte. Responde con el correo "
        "o el teléfono de tu cuenta y te enviaré un código de un solo uso.",
        "verify_still_needed": "Gracias{noted}. Antes de mostrarte un pedido todavía tengo que verificarte: "
        "responde con el correo o el teléfono de tu cuenta (no el número de pedido) y te enviaré un código de "
        "un solo uso.",
        "verify_noted_order": ", anoté el pedido {number}",
        "code_sent": "Si coincide con una cuenta, envié un código de 6 dígitos al correo o teléfono "
        "registrado. Responde con el código (vale 10 minutos).",
        "code_wrong": "Ese código no es correcto. Revísalo y responde de nuevo con el código de 6 dígitos.",
        "code_expired": "Ese código ya no es válido. Responde con el correo o el teléfono de tu cuenta y te "
        "enviaré uno nuevo.",
        "code_subject": "Tu código de verificación de {shop}",
        "code_body": "Tu código de verificación de {shop} es {code}. Vale 10 minutos.\n\n"
        "Si no lo pediste, ignora este mensaje: nadie puede ver tus pedidos sin él.",
        "stop_confirmed": "No recibirás más mensajes de {shop}. Responde START para volver a recibirlos.",
        "start_confirmed": "¡Bienvenido de nuevo! Volverás a recibir nuestras respuestas. ¿En qué te ayudo?",
        "rate_limited": "Estás enviando mensajes más rápido de lo que puedo responder. Espera un minuto; los "
        "mensajes enviados mientras tanto se guardan pero no se responden.",
        "unavailable": "Ahora mismo no puedo consultar pedidos. Pasé tu pregunta a un compañero, que te "
        "responderá pronto.",
        "change_lead": "Sobre cambiar o cancelar un pedido:",
        "text_only": "¡Gracias! Por ahora solo puedo leer mensajes de texto. ¿Puedes escribir tu pregunta en "
        "un mensaje?",
        "complaint": "Lamento mucho esta experiencia, y gracias por contárnosla.",
        "complaint_offer_human": "Lo siento mucho, entiendo que es frustrante. ¿Quieres que te pase con un "
        'compañero? Responde "sí", o cuéntame qué pasó y haré lo que pueda.',
        "no_answer": "No tengo una respuesta fiable para eso en nuestro centro de ayuda.",
        "also_asked": "También preguntaste por {topic}: envíame esa pregunta en un mensaje aparte y también te la "
        "respondo.",
        "topic_order_status": "tu pedido",
        "topic_order_change": "cambiar tu pedido",
        "topic_shipping": "los envíos",
        "topic_returns_refunds": "devoluciones y reembolsos",
        "topic_payment": "el pago",
        "topic_account": "tu cuenta",
        "topic_product": "nuestros productos",
        "topic_human_agent": "hablar con una persona",
        "ask_topic": "Quiero asegurarme de ayudarte con lo que necesitas. ¿Tu pregunta es sobre:\n{choices}\n"
        "Responde con el número o cuéntame un poco más.",
        "escalate_human_requested": "Claro. Pasé esta conversación a un compañero, que te responderá aquí lo "
        "antes posible (lun–vie 8:00–20:00, sáb 9:00–14:00).",
        "declined": "Lo siento, con eso no puedo ayudarte. Puedo responder preguntas sobre {shop}: tus pedidos, "
        "envíos, devoluciones y reembolsos, pagos, tu cuenta y nuestros productos.",
        "not_sure": "No estoy seguro de haberte entendido. ¿Puedes decirlo con otras palabras? O, si prefieres, "
        'responde "sí" y te paso con un compañero.',
        "contact_search": "contacto atención al cliente teléfono correo horario",
        "contact_search_phone": "teléfono llamar número atención al cliente",
        "contact_search_hours": "horario de atención al cliente",
        "contact_offer_human": 'Si prefieres hablar con un compañero aquí en el chat, responde "sí" y te paso con él.',
        "escalate_repeated_question": "Siento no haber podido ayudarte con esto. Pasé la conversación a un "
        "compañero, que te responderá aquí lo antes posible.",
        "handoff_wait": "Gracias por esperar. Todo nuestro equipo está ocupado ahora; tus mensajes están guardados "
        "y un compañero te responderá aquí en cuanto esté libre. No hace falta que vuelvas a escribir.",
        "support_hours": "Nuestro equipo atiende {hours}.",
        "escalate_negative_sentiment": "Lo siento mucho. Pasé tu mensaje a un compañero, que se pondrá en "
        "contacto contigo personalmente lo antes posible.",
        "escalate_low_relevance": "No tengo una respuesta fiable para eso, así que pasé tu pregunta a un "
        "compañero, que te responderá aquí pronto.",
        "escalate_guardrail": "Prefiero que un compañero responda esto como se debe. Ya se lo pasé y te "
        "responderá aquí pronto.",
        "escalate_order_unavailable": "Ahora mismo no puedo consultar pedidos. Pasé tu pregunta a un "
        "compañero, que te responderá pronto.",
        "escalate_verification_failed": "No pude verificar tu cuenta, así que pasé esto a un compañero que te ayudará.",
        "action_verb_cancel": "cancelar",
        "action_verb_change_address": "enviar a otra dirección",
        "action_verb_change_items": "cambiar artículos de",
        "action_verb_return": "devolver artículos de",
        "action_verb_exchange": "cambiar artículos de",
        "action_past_cancel": "cancelado",
        "action_past_change_address": "enviado a otra dirección",
        "action_past_change_items": "modificado",
        "action_past_return": "devuelto",
        "action_past_exchange": "cambiado",
        "action_ask_order": "¿Qué pedido quieres {verb}? Responde con su número:\n{choices}",
        "action_ask_items": "¿Qué artículo del pedido {number}? Responde con el número (o “todos”):\n{choices}",
        "action_ask_reason": "¿Por qué quieres cancelar el pedido {number}? Responde con el número:\n{choices}",
        "action_ask_address": "¿Cuál es la nueva dirección de entrega del pedido {number}? Escríbela en una línea: "
        "calle y número, piso (si lo hay), ciudad, provincia (si la hay), código postal, país.",
        "action_ask_variant": "¿Qué quieres en lugar de {item}? Responde con el número:\n{choices}",
        "action_ask_refund": "¿Adónde enviamos el reembolso de {amount}? Responde con el número:\n{choices}",
        "action_ask_payment_pay": "Cuesta {amount} más. ¿Cómo quieres pagar la diferencia? "
        "Responde con el número:\n{choices}",
        "action_ask_payment_refund": "Cuesta {amount} menos. ¿Adónde enviamos la diferencia? "
        "Responde con el número:\n{choices}",
        "action_again": "Perdona, no lo he entendido. ",
        "action_original_method": "{method} (el pago original)",
        "action_confirm": "{change} {money}\nResponde “sí” para confirmar, o “no” para dejarlo como está.",
        "action_change_cancel": "Confírmame: cancelar el pedido {number} ({items}), motivo: {reason}.",
        "action_change_change_address": "Confírmame: entregar el pedido {number} en {address} (en lugar de {old}).",
        "action_change_change_items": "Confírmame: en el pedido {number}, cambiar {changes}. Los artículos de un "
        "pedido solo se pueden cambiar una vez.",
        "action_change_return": "Confírmame: devolver {items} del pedido {number}.",
        "action_change_exchange": "Confírmame: cambiar {changes} del pedido {number}.",
        "action_swap": "{item} → {variant}",
        "action_money_refund": "Se reembolsarán {amount} a {method}.",
        "action_money_pay": "Pagas la diferencia de {amount} con {method}.",
        "action_money_charged": "La diferencia de {amount} se ha cargado a {method}.",
        "action_money_later_refund": "Se reembolsarán {amount} a {method} cuando recibamos los artículos.",
        "action_money_later_pay": "La diferencia de {amount} se cargará a {method} cuando enviemos el artículo nuevo.",
        "action_money_none": "No hay diferencia de precio.",
        "action_done_cancel": "Hecho: el pedido {number} está cancelado. {money}",
        "action_done_change_address": "Hecho: el pedido {number} se entregará en {address}.",
        "action_done_change_items": "Hecho: el pedido {number} ahora lleva {changes}. {money}",
        "action_done_return": "Hecho: la devolución de {items} del pedido {number} está solicitada. {money} "
        "Envía los artículos como indica nuestra guía de devoluciones.",
        "action_done_exchange": "Hecho: el cambio de {changes} del pedido {number} está solicitado. {money}",
        "action_declined": "De acuerdo, no he cambiado nada en el pedido {number}.",
        "action_refused_status": "Lo siento, el pedido {number} ya no se puede dar por {past}: está {status}. Solo "
        "es posible mientras el pedido está {allowed}. ¿Quieres que te pase con un compañero? Responde “sí”.",
        "action_refused_window": "Lo siento, el pedido {number} se entregó hace más de {days} días, así que ya no "
        "puede ser {past}. ¿Quieres que te pase con un compañero? Responde “sí”.",
        "action_refused_once": "Lo siento, los artículos del pedido {number} ya se cambiaron una vez, y solo se "
        "pueden cambiar una vez. ¿Quieres que te pase con un compañero? Responde “sí”.",
        "action_refused_unavailable": "Lo siento, {item} en {wanted} no está disponible ahora mismo, así que no "
        "puedo cambiarlo en el pedido {number}. ¿Quieres que te pase con un compañero? Responde “sí”.",
        "action_another_option": "otra opción",
        "action_refused_gift_card_balance": "Lo siento, el saldo de tu tarjeta regalo no cubre la diferencia de "
        "{amount}. ¿Quieres que te pase con un compañero? Responde “sí”.",
        "action_refused_not_found": "No encuentro el pedido {number} en tu cuenta, así que no puedo cambiarlo. "
        "Revisa el número, o responde “sí” y te paso con un compañero.",
        "action_refused_nothing_to_change": "El pedido {number} ya está así, no hay nada que cambiar.",
        "action_refused_policy": "Lo siento, nuestra política no permite eso en el pedido {number}. ¿Quieres que te "
        "pase con un compañero? Responde “sí”.",
        "action_refused_no_orders": "No veo ningún pedido tuyo que pueda ser {past} ahora. ¿Quieres que te pase "
        "con un compañero? Responde “sí”.",
        "action_gave_up": "Perdona, no lo consigo entender. He dejado el pedido {number} como estaba. ¿Quieres que "
        "te pase con un compañero? Responde “sí”.",
        "escalate_action_rejected": "Nuestro sistema de pedidos no ha aceptado ese cambio, así que aún no ha "
        "cambiado nada. Te paso con un compañero de {shop} que lo resolverá contigo.",
        "escalate_quota_exceeded": "El asistente de {shop} no está disponible en este momento. Tu mensaje ya "
        "está con el equipo y una persona te responderá aquí.",
        "reason_no longer needed": "ya no lo necesito",
        "reason_ordered by mistake": "lo pedí por error",
        "catalogue_which": "Tenemos varios: {names}. ¿Cuál quieres decir?",
        "catalogue_in_stock": "El artículo {product} está disponible en: {variants}.",
        "catalogue_none_in_stock": "Lo siento, el artículo {product} está agotado ahora mismo.",
        "catalogue_yes": "Sí, el artículo {product} en {option} está disponible, a {price}. Disponibles: {variants}.",
        "catalogue_out_of_stock": "Lo siento, el artículo {product} en {option} está agotado ahora mismo. "
        "Disponibles: {variants}.",
    },
}

ORDER_STATUS_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "pending": "awaiting payment",
        "processing": "being prepared",
        "shipped": "on its way",
        "delivered": "delivered",
        "cancelled": "cancelled",
        "returned": "returned",
        "return_requested": "return requested",
        "exchange_requested": "exchange requested",
    },
    "id": {
        "pending": "menunggu pembayaran",
        "processing": "sedang disiapkan",
        "shipped": "dalam pengiriman",
        "delivered": "sudah diterima",
        "cancelled": "dibatalkan",
        "returned": "dikembalikan",
        "return_requested": "pengembalian diajukan",
        "exchange_requested": "penukaran diajukan",
    },
    "es": {
        "pending": "pendiente de pago",
        "processing": "en preparación",
        "shipped": "en camino",
        "delivered": "entregado",
        "cancelled": "cancelado",
        "returned": "devuelto",
        "return_requested": "devolución solicitada",
        "exchange_requested": "cambio solicitado",
    },
}


def phrase(language: str, key: str, **values: object) -> str:
    """The phrase `key` in `language` (English when the language is unknown), filled in."""
    table = PHRASES.get(language, PHRASES["en"])
    return table[key].format(**values) if values else table[key]


def _date(value: object) -> str:
    return value.strftime("%d %b %Y") if hasattr(value, "strftime") else str(value)


def format_order(order: Order, language: str) -> list[str]:
    """The lines describing one order, short enough for WhatsApp."""
    status = ORDER_STATUS_WORDS.get(language, ORDER_STATUS_WORDS["en"])[order.status]
    lines = [phrase(language, "order_line", number=order.number, status=status)]
    lines.append(phrase(language, "items", items=order.summary))
    if order.carrier and order.tracking_number and order.status in ("shipped", "delivered"):
        lines.append(phrase(language, "carrier", carrier=order.carrier, tracking=order.tracking_number))
    if order.status == "delivered" and order.delivered_at:
        lines.append(phrase(language, "delivered", date=_date(order.delivered_at)))
    elif order.status in ("pending", "processing", "shipped") and order.estimated_delivery:
        lines.append(phrase(language, "expected", date=_date(order.estimated_delivery)))
    else:
        lines.append(phrase(language, "ordered", date=_date(order.created_at)))
    return lines


def format_order_lookup(lookup: OrderLookup, language: str) -> str:
    """The customer-facing text for any order-tool result."""
    if lookup.kind == "order":
        return "\n".join(format_order(lookup.orders[0], language))
    if lookup.kind == "choose":
        status_words = ORDER_STATUS_WORDS.get(language, ORDER_STATUS_WORDS["en"])
        lines = [phrase(language, "choose", count=len(lookup.orders))]
        lines += [f"- {o.number}: {o.summary} ({status_words[o.status]})" for o in lookup.orders]
        lines.append(phrase(language, "choose_ask"))
        return "\n".join(lines)
    if lookup.kind == "not_found":
        return phrase(language, "not_found", number=lookup.requested_number or "")
    return phrase(language, lookup.kind)
