//! The close-code knowledge base: what each close code (RFC 6455 §7.4, the
//! IANA "WebSocket Close Code Number Registry") means, when an engineer sees
//! it, and how to fix it, in English and Arabic, plus the side-by-side
//! comparison that `wsforensics explain A B` prints.
//!
//! Owns: the texts (static data) and the look-ups over them.
//! May import: nothing of this crate. Must not import: flow, http, capture,
//! session, report. Nothing here prints: the report and the CLI format.
//!
//! Every `u16` maps to an entry: the registered codes 1000-1015 one by one,
//! the ranges 3000-3999 (registered for libraries and frameworks) and
//! 4000-4999 (private use), and the invalid classes 0-999, 1016-2999 and
//! 5000 and above (§7.4.2), so an unknown code is still explained.

/// Language of the texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Ar,
}

impl Lang {
    /// From a `--lang` value: `en` or `ar` (case-insensitive).
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Lang::En),
            "ar" | "arabic" => Some(Lang::Ar),
            _ => None,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    /// Whether the language is written right to left (the terminal report
    /// may need to know).
    pub const fn is_rtl(self) -> bool {
        matches!(self, Lang::Ar)
    }
}

/// Who puts a code in a Close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SentBy {
    /// Either endpoint.
    Either,
    /// The server (or an intermediary acting as one).
    Server,
    /// Only the client (1010).
    Client,
    /// Never on the wire: an API reports it locally (1005, 1006, 1015).
    Local,
    /// Never legitimately: a Close frame with it is a protocol error.
    Invalid,
}

impl SentBy {
    /// Whether a compliant endpoint may put the code in a Close frame.
    pub const fn on_wire(self) -> bool {
        matches!(self, SentBy::Either | SentBy::Server | SentBy::Client)
    }

    /// One line for the comparison table.
    pub const fn text(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SentBy::Either, Lang::En) => "Either endpoint, in a Close frame.",
            (SentBy::Server, Lang::En) => "The server (or a proxy acting for it), in a Close frame.",
            (SentBy::Client, Lang::En) => "Only the client, in a Close frame.",
            (SentBy::Local, Lang::En) => "Never sent: reported locally by the API.",
            (SentBy::Invalid, Lang::En) => "Never legitimately: a Close frame with it is a protocol error (answered with 1002).",
            (SentBy::Either, Lang::Ar) => "أيٌّ من الطرفين، في إطار Close.",
            (SentBy::Server, Lang::Ar) => "الخادم (أو وسيط ينوب عنه)، في إطار Close.",
            (SentBy::Client, Lang::Ar) => "العميل وحده، في إطار Close.",
            (SentBy::Local, Lang::Ar) => "لا يُرسل أبدًا: تبلّغ عنه الواجهة البرمجية محليًا.",
            (SentBy::Invalid, Lang::Ar) => "لا يصح إرساله: إطار Close يحمله مخالفة للبروتوكول (يُرد عليه بالرمز 1002).",
        }
    }
}

/// The texts of one code (or range) in one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeText {
    pub name: &'static str,
    pub description: &'static str,
    /// Concrete situations that produce it.
    pub when_seen: &'static str,
    pub how_to_fix: &'static str,
    /// What sets it apart from the codes it is confused with.
    pub key_trait: &'static str,
    /// The evidence in a capture that points to this code.
    pub suspect_when: &'static str,
}

/// One entry of the knowledge base: a code or a range of codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeEntry {
    /// First and last code covered (equal for a single code).
    pub first: u16,
    pub last: u16,
    pub sent_by: SentBy,
    pub en: CodeText,
    pub ar: CodeText,
}

impl CodeEntry {
    pub const fn text(&self, lang: Lang) -> &CodeText {
        match lang {
            Lang::En => &self.en,
            Lang::Ar => &self.ar,
        }
    }

    pub const fn is_range(&self) -> bool {
        self.first != self.last
    }

    pub const fn contains(&self, code: u16) -> bool {
        self.first <= code && code <= self.last
    }
}

const fn t(
    name: &'static str,
    description: &'static str,
    when_seen: &'static str,
    how_to_fix: &'static str,
    key_trait: &'static str,
    suspect_when: &'static str,
) -> CodeText {
    CodeText { name, description, when_seen, how_to_fix, key_trait, suspect_when }
}

/// Every entry, in code order; the ranges cover 0..=u16::MAX without holes.
pub static ENTRIES: &[CodeEntry] = &[
    CodeEntry {
        first: 0,
        last: 999,
        sent_by: SentBy::Invalid,
        en: t(
            "Invalid (below 1000)",
            "Codes below 1000 are not used (RFC 6455 §7.4.2).",
            "Only from a broken or hand-written implementation, or from reading the wrong two bytes as the code (a corrupted or misparsed Close frame).",
            "Fix the sender to use a defined code (1000-1003, 1007-1014, 3000-4999). A compliant receiver fails the connection with 1002.",
            "Never valid on the wire.",
            "Any Close frame carrying it: it identifies a non-compliant sender or corrupted bytes.",
        ),
        ar: t(
            "غير صالح (أقل من 1000)",
            "الرموز الأقل من 1000 غير مستخدمة (RFC 6455 §7.4.2).",
            "لا يظهر إلا من تطبيق معيب أو مكتوب يدويًا، أو من قراءة بايتين خاطئين على أنهما الرمز (إطار Close تالف أو أسيء تحليله).",
            "أصلِح المرسِل ليستخدم رمزًا معرّفًا (1000-1003، 1007-1014، 3000-4999). والمستقبِل الملتزم ينهي الاتصال بالرمز 1002.",
            "لا يصح على الشبكة أبدًا.",
            "أي إطار Close يحمله: فهو يكشف مرسِلًا غير ملتزم أو بايتات تالفة.",
        ),
    },
    CodeEntry {
        first: 1000,
        last: 1000,
        sent_by: SentBy::Either,
        en: t(
            "Normal Closure",
            "The connection fulfilled its purpose and the application closed it on purpose.",
            "A client or server called close() with no error: the user logged out, a page or component was unmounted, a job finished, or the server ended the session by design (some servers also use 1000 when an auth token expires instead of 1008).",
            "Nothing to fix at the protocol level. If the close was unexpected, find which side sent the first Close (the initiator), review the code paths in that application that call close(), and add a reason string so the next capture says why.",
            "A deliberate, clean close: a Close with 1000, normally echoed by the peer, then the server closes TCP.",
            "Close frames in both directions, the closing handshake completes, and no violation or error precedes it.",
        ),
        ar: t(
            "الإغلاق الطبيعي",
            "أدّى الاتصال غرضه وأغلقه التطبيق عن قصد.",
            "استدعى العميل أو الخادم close() دون خطأ: سجّل المستخدم خروجه، أو أُزيلت الصفحة أو المكوّن، أو انتهت مهمة، أو أنهى الخادم الجلسة عمدًا (وبعض الخوادم تستخدم 1000 أيضًا عند انتهاء صلاحية رمز المصادقة بدل 1008).",
            "لا شيء يُصلَح على مستوى البروتوكول. إن كان الإغلاق غير متوقع فحدّد الطرف الذي أرسل Close أولًا، وراجع المواضع التي تستدعي close() في شيفرة ذلك التطبيق، وأضِف نص سبب (reason) ليُظهر الالتقاط القادم السبب.",
            "إغلاق مقصود ونظيف: إطار Close بالرمز 1000 يرد عليه الطرف الآخر عادةً بمثله، ثم يغلق الخادم اتصال TCP.",
            "إطارا Close في الاتجاهين، وتكتمل مصافحة الإغلاق، ولا تسبقه مخالفة ولا خطأ.",
        ),
    },
    CodeEntry {
        first: 1001,
        last: 1001,
        sent_by: SentBy::Either,
        en: t(
            "Going Away",
            "An endpoint is going away: a server shutting down or restarting, or a browser leaving the page.",
            "Deployments and rolling restarts (containers terminating on SIGTERM), a load balancer draining a backend, a browser tab closed or navigated away, a mobile app sent to the background. Some proxies also send it when their own idle timeout fires.",
            "Expected during deploys: make clients reconnect with exponential backoff and jitter and restore their state (resubscribe, fetch missed messages). If it appears in normal operation, look for crash-looping servers, autoscaler scale-in, and proxy idle timeouts (raise them, or ping more often than the timeout).",
            "A planned departure of the endpoint that sends it; nothing was wrong with the traffic.",
            "The Close coincides with a deploy, a scale-in or a browser navigation; many connections from the same server close with 1001 at the same moment.",
        ),
        ar: t(
            "المغادرة",
            "أحد الطرفين يغادر: خادم يتوقف أو يُعاد تشغيله، أو متصفح يغادر الصفحة.",
            "عمليات النشر وإعادة التشغيل المتدرجة (إنهاء الحاويات عند إشارة SIGTERM)، وموازن حمل يفرّغ خادمًا خلفيًا، وإغلاق تبويب المتصفح أو الانتقال إلى صفحة أخرى، وانتقال تطبيق الجوال إلى الخلفية. وترسله بعض الوسائط (proxies) أيضًا عند انتهاء مهلة الخمول لديها.",
            "متوقع أثناء النشر: اجعل العملاء يعيدون الاتصال بتأخير أُسّي مع عشوائية (jitter) ويستعيدون حالتهم (إعادة الاشتراك وجلب الرسائل الفائتة). وإن ظهر في التشغيل العادي فابحث عن خوادم تنهار ويُعاد تشغيلها باستمرار، أو تقليص تلقائي لعدد الخوادم، أو مهلات خمول في الوسائط (ارفعها، أو أرسل ping أسرع من المهلة).",
            "مغادرة مخطط لها من الطرف المرسِل؛ لا عيب في حركة البيانات.",
            "يتزامن الإغلاق مع نشر أو تقليص أو تنقّل في المتصفح، وتُغلق اتصالات كثيرة من الخادم نفسه بالرمز 1001 في اللحظة نفسها.",
        ),
    },
    CodeEntry {
        first: 1002,
        last: 1002,
        sent_by: SentBy::Either,
        en: t(
            "Protocol Error",
            "The endpoint received bytes that break the WebSocket protocol (RFC 6455 framing rules) and is failing the connection.",
            "The peer sent a frame the receiver considers invalid: an unmasked client frame, a masked server frame, RSV bits with no negotiated extension (often a permessage-deflate mismatch: one side compresses without agreement, or a proxy stripped Sec-WebSocket-Extensions from the handshake), a reserved opcode, a fragmented or over-long control frame, a continuation with no message, an invalid close code. Also caused by middleboxes that corrupt or re-chunk the byte stream (TLS-intercepting proxies, buggy load balancers), and by two threads writing frames to one socket without a lock, which interleaves their bytes.",
            "Find the frame the closing side received just before its Close (wsforensics links the 1002 to the violation). If a violation is visible, fix the sender: a library bug, unsynchronised concurrent writes, a hand-written framer. If none is visible, the bytes were altered between the capture point and the endpoint: capture on the other side of the proxy or load balancer, check that both sides agree on permessage-deflate (compare the request with the 101 response), disable compression to confirm, and update the middlebox.",
            "The receiver's complaint about the peer's bytes: the cause is in the traffic sent TO the endpoint that sends 1002, not in that endpoint's own state.",
            "A framing violation (RSV bits, opcode, masking, length) in the frames the closing side received shortly before its Close; or compression in use with proxies in the path.",
        ),
        ar: t(
            "خطأ في البروتوكول",
            "تلقّى الطرف بايتات تخالف قواعد تأطير WebSocket في RFC 6455، فهو ينهي الاتصال.",
            "أرسل الطرف الآخر إطارًا يعدّه المستقبِل غير صالح: إطار من العميل بلا قناع، أو إطار من الخادم بقناع، أو بتات RSV دون امتداد متفق عليه (وكثيرًا ما يكون السبب عدم توافق في permessage-deflate: يضغط أحد الطرفين دون اتفاق، أو يحذف وسيطٌ الترويسة Sec-WebSocket-Extensions من المصافحة)، أو رمز عملية محجوز، أو إطار تحكم مجزأ أو أطول من المسموح، أو إطار استمرار بلا رسالة، أو رمز إغلاق غير صالح. وقد تسببه أجهزة وسيطة تُفسد تدفق البايتات أو تعيد تقطيعه (وسائط تعترض TLS، وموازنات حمل معيبة)، أو خيطان (threads) يكتبان إطارات على المقبس نفسه دون قفل فتتداخل بايتاتهما.",
            "ابحث عن الإطار الذي تلقّاه الطرف المُغلِق قبيل إرساله Close (يربط wsforensics الرمز 1002 بالمخالفة). إن ظهرت مخالفة فأصلِح المرسِل: خلل في المكتبة، أو كتابات متزامنة غير محمية، أو مُؤطِّر مكتوب يدويًا. وإن لم تظهر أي مخالفة فقد تغيّرت البايتات بين نقطة الالتقاط والطرف: التقط على الجانب الآخر من الوسيط أو موازن الحمل، وتحقق من اتفاق الطرفين على permessage-deflate (قارن الطلب باستجابة 101)، وعطّل الضغط للتأكد، وحدّث الجهاز الوسيط.",
            "شكوى المستقبِل من بايتات الطرف الآخر: السبب في البيانات المرسلة إلى الطرف الذي يرسل 1002، لا في حالته الداخلية.",
            "مخالفة تأطير (بتات RSV، رمز عملية، قناع، طول) في إطارات تلقاها الطرف المُغلِق قبيل إرساله Close؛ أو الضغط مفعّل وفي المسار وسائط.",
        ),
    },
    CodeEntry {
        first: 1003,
        last: 1003,
        sent_by: SentBy::Either,
        en: t(
            "Unsupported Data",
            "The endpoint received a type of data it cannot accept, e.g. a binary message on a text-only endpoint.",
            "A client sends binary (Blob, ArrayBuffer) where the server handler accepts only text, or the reverse; a route built for JSON text receives binary protobuf; a framework closes because no handler is registered for that message type.",
            "Align the message type: send JSON as text, or enable binary handling on the receiver. The opcode of the last message before the Close tells which type was refused.",
            "The frame was well-formed; the application refuses its type (text or binary).",
            "The last data message the closing side received has an opcode its application does not handle.",
        ),
        ar: t(
            "بيانات غير مدعومة",
            "تلقّى الطرف نوع بيانات لا يقبله، مثل رسالة ثنائية في نقطة نهاية لا تقبل إلا النص.",
            "يرسل العميل بيانات ثنائية (Blob أو ArrayBuffer) ومعالج الخادم لا يقبل إلا النص، أو العكس؛ أو مسار مُعدّ لنص JSON يتلقى protobuf ثنائيًا؛ أو إطار عمل يغلق الاتصال لأنه لا يوجد معالج مسجّل لهذا النوع.",
            "وحّد نوع الرسائل: أرسل JSON نصًا، أو فعّل معالجة البيانات الثنائية لدى المستقبِل. ورمز العملية في آخر رسالة قبل Close يبيّن النوع المرفوض.",
            "الإطار سليم البنية؛ التطبيق يرفض نوعه (نص أو ثنائي).",
            "آخر رسالة بيانات تلقاها الطرف المُغلِق من نوع لا يعالجه تطبيقه.",
        ),
    },
    CodeEntry {
        first: 1004,
        last: 1004,
        sent_by: SentBy::Invalid,
        en: t(
            "Reserved",
            "Reserved by RFC 6455: no meaning is defined and it must not be sent.",
            "Only from a buggy or custom implementation; a compliant receiver answers it with 1002.",
            "Change the sender to use a defined code (1000, 1008, 1011, or an application code 4000-4999).",
            "Never legitimate on the wire.",
            "Seeing it at all: it identifies a non-compliant sender.",
        ),
        ar: t(
            "محجوز",
            "رمز محجوز في RFC 6455 بلا معنى محدد، ولا يجوز إرساله.",
            "لا يظهر إلا من تطبيق معيب أو مخصص؛ والمستقبِل الملتزم يرد عليه بالرمز 1002.",
            "غيّر المرسِل ليستخدم رمزًا معرّفًا (1000 أو 1008 أو 1011، أو رمزًا خاصًا بالتطبيق بين 4000 و4999).",
            "لا يصح على الشبكة أبدًا.",
            "مجرد ظهوره يكشف مرسِلًا غير ملتزم.",
        ),
    },
    CodeEntry {
        first: 1005,
        last: 1005,
        sent_by: SentBy::Local,
        en: t(
            "No Status Received",
            "Never sent: the code an API reports when the peer's Close frame had no status code.",
            "The peer closed with an empty Close frame, which is legal. Browsers then report CloseEvent.code 1005; common with some servers, proxies and older libraries.",
            "Usually harmless. To learn why the peer closed, make it send a code and a reason (e.g. close(1000, \"done\")). A 1005 inside a Close frame on the wire is itself a protocol violation.",
            "Local only, inferred from an empty Close frame: the closing handshake did take place.",
            "The capture holds a Close frame with an empty body.",
        ),
        ar: t(
            "لم تُستلم حالة",
            "لا يُرسل أبدًا: رمز تبلّغ عنه الواجهة البرمجية حين يخلو إطار Close من الطرف الآخر من رمز الحالة.",
            "أغلق الطرف الآخر بإطار Close فارغ، وهذا مسموح. وتبلّغ المتصفحات حينها CloseEvent.code = 1005؛ ويشيع مع بعض الخوادم والوسائط والمكتبات القديمة.",
            "غالبًا لا ضرر منه. ولمعرفة سبب الإغلاق اجعل الطرف الآخر يرسل رمزًا وسببًا (مثل close(1000, \"done\")). أما ظهور 1005 داخل إطار Close على الشبكة فهو نفسه مخالفة للبروتوكول.",
            "محلي فقط، يُستنتج من إطار Close فارغ: مصافحة الإغلاق حدثت فعلًا.",
            "في الالتقاط إطار Close بلا جسم.",
        ),
    },
    CodeEntry {
        first: 1006,
        last: 1006,
        sent_by: SentBy::Local,
        en: t(
            "Abnormal Closure",
            "Never sent: the code an API reports when the connection closed without any Close frame.",
            "The TCP connection ended (FIN or RST) or died without a closing handshake: proxy and load-balancer idle timeouts (AWS ALB 60 s by default, nginx proxy_read_timeout 60 s by default, Cloudflare 100 s), a server process that crashed or was OOM-killed, a network change (Wi-Fi to cellular, laptop sleep), expired NAT or firewall state, a handshake the client rejected (wrong Sec-WebSocket-Accept, an extension it did not offer), a TLS failure, or a peer that never answered a Close.",
            "See who ended TCP and how (wsforensics reports FIN or RST, the side, and the time since the last frame). A regular delay since the last traffic (60 s, 100 s) points to an idle timeout: send pings or application heartbeats more often than the shortest timeout in the path, or raise it (nginx proxy_read_timeout and proxy_send_timeout, ALB idle_timeout.timeout_seconds, HAProxy timeout tunnel). An RST with no Close points to a crash or a middlebox: check the server logs and OOM kills at that moment. Make clients reconnect with backoff.",
            "Nobody said goodbye: the transport disappeared, and the cause lies outside the WebSocket frames (network, proxy, process).",
            "No Close frame in either direction; a FIN or RST, or nothing until the capture ends; the silence before it matches a known timeout.",
        ),
        ar: t(
            "إغلاق غير طبيعي",
            "لا يُرسل أبدًا: رمز تبلّغ عنه الواجهة البرمجية حين ينتهي الاتصال دون أي إطار Close.",
            "انتهى اتصال TCP (بـ FIN أو RST) أو انقطع دون مصافحة إغلاق: مهلات الخمول في الوسائط وموازنات الحمل (60 ثانية افتراضيًا في AWS ALB، و60 ثانية افتراضيًا لـ proxy_read_timeout في nginx، و100 ثانية في Cloudflare)، أو عملية خادم انهارت أو قُتلت لنفاد الذاكرة (OOM)، أو تغيّر في الشبكة (من Wi-Fi إلى الخلوية، أو سكون الحاسوب)، أو انتهاء حالة NAT أو الجدار الناري، أو مصافحة رفضها العميل (Sec-WebSocket-Accept خاطئ، أو امتداد لم يعرضه)، أو فشل TLS، أو طرف لم يرد على Close.",
            "انظر من أنهى TCP وكيف (يبيّن wsforensics نوع FIN أو RST والجهة والمدة منذ آخر إطار). إن كانت المدة منذ آخر حركة منتظمة (60 أو 100 ثانية) فالسبب مهلة خمول: أرسل ping أو نبضات على مستوى التطبيق أسرع من أقصر مهلة في المسار، أو ارفعها (proxy_read_timeout و proxy_send_timeout في nginx، و idle_timeout.timeout_seconds في ALB، و timeout tunnel في HAProxy). وإن ظهر RST دون Close فالسبب انهيار أو جهاز وسيط: راجع سجلات الخادم وأحداث OOM في تلك اللحظة. واجعل العملاء يعيدون الاتصال بتأخير متزايد.",
            "لم يودّع أحدٌ أحدًا: اختفى النقل، والسبب خارج إطارات WebSocket (الشبكة، أو الوسيط، أو العملية).",
            "لا إطار Close في أي اتجاه؛ يظهر FIN أو RST، أو لا شيء حتى نهاية الالتقاط؛ ومدة الصمت قبله تطابق مهلة معروفة.",
        ),
    },
    CodeEntry {
        first: 1007,
        last: 1007,
        sent_by: SentBy::Either,
        en: t(
            "Invalid Frame Payload Data",
            "The endpoint received a message whose data does not match its type: text that is not valid UTF-8, or (in many libraries) compressed data that does not inflate.",
            "A text frame carrying binary or Latin-1/Windows-1252 bytes, a string truncated in the middle of a multi-byte character, a corrupt permessage-deflate stream, or a close reason that is not UTF-8.",
            "Send binary data in binary frames and encode text as UTF-8; a character may be split across frames but never truncated. wsforensics shows the offset of the first invalid byte. If the message was compressed, check that both sides agree on the deflate parameters in the handshake.",
            "The framing was correct; the content of the payload is invalid for its type.",
            "An invalid-utf8-text or deflate-error violation in a message the closing side received.",
        ),
        ar: t(
            "بيانات حمولة غير صالحة",
            "تلقّى الطرف رسالة لا تطابق بياناتها نوعها: نص ليس UTF-8 صالحًا، أو (في مكتبات كثيرة) بيانات مضغوطة يتعذر فكّها.",
            "إطار نصي يحمل بايتات ثنائية أو بترميز Latin-1 أو Windows-1252، أو نص بُتر وسط حرف متعدد البايتات، أو تدفق permessage-deflate تالف، أو سبب إغلاق ليس UTF-8.",
            "أرسل البيانات الثنائية في إطارات ثنائية، ورمّز النص بـ UTF-8؛ يجوز تقسيم الحرف بين إطارين ولا يجوز بتره. يبيّن wsforensics موضع أول بايت غير صالح. وإن كانت الرسالة مضغوطة فتحقق من اتفاق الطرفين على معاملات الضغط في المصافحة.",
            "التأطير سليم؛ محتوى الحمولة غير صالح لنوعها.",
            "مخالفة invalid-utf8-text أو deflate-error في رسالة تلقاها الطرف المُغلِق.",
        ),
    },
    CodeEntry {
        first: 1008,
        last: 1008,
        sent_by: SentBy::Either,
        en: t(
            "Policy Violation",
            "The endpoint received a message that violates its policy; a generic code used when no more specific one fits.",
            "Authentication or authorisation failed or expired (invalid token, revoked session), an Origin not on the allow-list, a rate limit exceeded, a message that fails schema validation, a banned user, or a gateway or WAF rule that matched.",
            "Read the reason string and the server logs: the policy is defined by the application. Refresh tokens before they expire, check Origin allow-lists, and back off when rate-limited.",
            "A deliberate refusal by the application's rules, not a protocol or transport failure.",
            "The Close follows a particular request (subscribe, authenticate, a burst), often with a reason such as \"unauthorized\" or \"rate limit\".",
        ),
        ar: t(
            "انتهاك السياسة",
            "تلقّى الطرف رسالة تخالف سياسته؛ رمز عام يُستخدم حين لا يناسب رمز أدق.",
            "فشل المصادقة أو التفويض أو انتهاء صلاحيتهما (رمز غير صالح، أو جلسة ملغاة)، أو أصل (Origin) خارج قائمة المسموح، أو تجاوز حد المعدل، أو رسالة لا تطابق المخطط، أو مستخدم محظور، أو قاعدة في بوابة أو جدار حماية تطبيقات (WAF).",
            "اقرأ نص السبب وسجلات الخادم، فالسياسة يحددها التطبيق. جدّد الرموز قبل انتهاء صلاحيتها، وراجع قوائم الأصول المسموح بها، وتمهّل عند تقييد المعدل.",
            "رفض مقصود بقواعد التطبيق، لا عطل في البروتوكول أو النقل.",
            "يعقب الإغلاق طلبًا بعينه (اشتراك، أو مصادقة، أو دفعة رسائل)، وغالبًا بسبب مثل \"unauthorized\" أو \"rate limit\".",
        ),
    },
    CodeEntry {
        first: 1009,
        last: 1009,
        sent_by: SentBy::Either,
        en: t(
            "Message Too Big",
            "The endpoint received a message too big for it to process.",
            "A message (after reassembly and inflation) went over the receiver's limit: Python websockets max_size (1 MiB by default), Node ws maxPayload (100 MiB by default), Tomcat/Jakarta WebSocket buffers (8 KiB by default), Socket.IO maxHttpBufferSize (1 MB), Go gorilla SetReadLimit. Also a decompression bomb.",
            "Compare the size of the message before the Close (wsforensics gives its compressed and inflated size) with the receiver's limit. Raise the limit where that is sound (websockets: serve(..., max_size=...); ws: new WebSocketServer({ maxPayload }); Jakarta: session.setMaxTextMessageBufferSize or @OnMessage(maxMessageSize=...); Spring: ServletServerContainerFactoryBean.setMaxTextMessageBufferSize; gorilla: conn.SetReadLimit; Socket.IO: maxHttpBufferSize), or split large payloads, or send them over HTTP.",
            "The payload was valid but larger than the receiver's configured limit.",
            "The message received just before the Close is larger than the others, or just over a round limit (8 KiB, 64 KiB, 1 MiB, 16 MiB).",
        ),
        ar: t(
            "الرسالة أكبر من اللازم",
            "تلقّى الطرف رسالة أكبر من أن يعالجها.",
            "تجاوزت رسالة (بعد تجميع أجزائها وفك ضغطها) حدّ المستقبِل: max_size في مكتبة websockets لبايثون (1 ميبيبايت افتراضيًا)، و maxPayload في ws لـ Node (100 ميبيبايت افتراضيًا)، ومخازن WebSocket في Tomcat و Jakarta (8 كيبيبايت افتراضيًا)، و maxHttpBufferSize في Socket.IO (1 ميغابايت)، و SetReadLimit في gorilla لـ Go. وقد تكون قنبلة فك ضغط.",
            "قارن حجم الرسالة السابقة للإغلاق (يذكر wsforensics حجمها مضغوطة وبعد فك الضغط) بحد المستقبِل. ارفع الحد حيث يكون ذلك سليمًا (websockets: serve(..., max_size=...)؛ ws: new WebSocketServer({ maxPayload })؛ Jakarta: session.setMaxTextMessageBufferSize أو @OnMessage(maxMessageSize=...)؛ Spring: ServletServerContainerFactoryBean.setMaxTextMessageBufferSize؛ gorilla: conn.SetReadLimit؛ Socket.IO: maxHttpBufferSize)، أو قسّم الحمولات الكبيرة، أو أرسلها عبر HTTP.",
            "الحمولة صالحة لكنها أكبر من الحد المضبوط لدى المستقبِل.",
            "الرسالة المستلمة قبيل الإغلاق أكبر من غيرها، أو تتجاوز بقليل حدًا مستديرًا (8 كيبيبايت، 64 كيبيبايت، 1 ميبيبايت، 16 ميبيبايت).",
        ),
    },
    CodeEntry {
        first: 1010,
        last: 1010,
        sent_by: SentBy::Client,
        en: t(
            "Mandatory Extension",
            "Sent by the client: the server did not agree to an extension the client requires; the reason lists the extensions.",
            "The client insists on an extension (e.g. permessage-deflate) and the 101 response does not include it, often because a proxy removed Sec-WebSocket-Extensions.",
            "Enable the extension on the server, make it optional on the client, or stop the proxy from rewriting the handshake headers.",
            "Only a client sends it, right after the handshake, about the negotiation.",
            "The client closes immediately after the 101, and the response lacks an extension the request offered.",
        ),
        ar: t(
            "امتداد إلزامي",
            "يرسله العميل: لم يوافق الخادم على امتداد يحتاجه العميل، ونص السبب يذكر الامتدادات.",
            "يشترط العميل امتدادًا (مثل permessage-deflate) ولا تتضمنه استجابة 101، وكثيرًا ما يكون ذلك لأن وسيطًا حذف Sec-WebSocket-Extensions.",
            "فعّل الامتداد في الخادم، أو اجعله اختياريًا في العميل، أو امنع الوسيط من تعديل ترويسات المصافحة.",
            "لا يرسله إلا العميل، بعد المصافحة مباشرة، بشأن التفاوض.",
            "يغلق العميل فور استجابة 101، والاستجابة تخلو من امتداد عرضه الطلب.",
        ),
    },
    CodeEntry {
        first: 1011,
        last: 1011,
        sent_by: SentBy::Server,
        en: t(
            "Internal Error",
            "The server (since the IANA update, either endpoint) met an unexpected condition that prevented it from fulfilling the request.",
            "An unhandled exception in a message handler (many frameworks turn it into 1011: Python websockets, Starlette/FastAPI, Spring, ASP.NET Core), a failing dependency (database, cache, an upstream API timing out), exhausted resources. Python websockets also closes with 1011 when a keepalive Ping gets no Pong in time (ping_timeout).",
            "Read the server logs and stack traces at the Close timestamp (wsforensics gives it to the microsecond) and match the request that preceded it. Catch exceptions in handlers and close with a more specific code; for keepalive timeouts, check whether the peer was blocked (a busy event loop, a slow consumer) or its Pongs were lost, and tune ping_interval/ping_timeout.",
            "The sender's own failure: the bytes it received were fine; the problem is inside the sender, usually the server application.",
            "The server closes shortly after a client request with no violation before it; or the peer had stopped answering Pings.",
        ),
        ar: t(
            "خطأ داخلي",
            "واجه الخادم (أو أيٌّ من الطرفين منذ تحديث سجل IANA) حالة غير متوقعة منعته من تلبية الطلب.",
            "استثناء غير معالج في معالج الرسائل (تحوّله أطر كثيرة إلى 1011: websockets لبايثون، و Starlette و FastAPI، و Spring، و ASP.NET Core)، أو تعطل اعتمادية (قاعدة بيانات، أو ذاكرة تخزين مؤقت، أو واجهة خارجية انتهت مهلتها)، أو نفاد الموارد. وتغلق websockets لبايثون أيضًا بالرمز 1011 حين لا يصل Pong لرسالة Ping الخاصة بإبقاء الاتصال في وقتها (ping_timeout).",
            "راجع سجلات الخادم وتتبعات الأخطاء عند توقيت Close (يذكره wsforensics بدقة الميكروثانية) وطابِقها مع الطلب الذي سبقه. التقط الاستثناءات في المعالجات وأغلق برمز أدق؛ وفي مهلات إبقاء الاتصال تحقّق هل كان الطرف الآخر معطّلًا (حلقة أحداث مزدحمة، أو مستهلك بطيء) أو ضاعت رسائل Pong منه، واضبط ping_interval و ping_timeout.",
            "عطل في المرسِل نفسه: البايتات التي تلقاها سليمة، والمشكلة داخله، وغالبًا في تطبيق الخادم.",
            "يغلق الخادم بعد طلب من العميل بقليل دون مخالفة قبله؛ أو كان الطرف الآخر قد توقف عن الرد على Ping.",
        ),
    },
    CodeEntry {
        first: 1012,
        last: 1012,
        sent_by: SentBy::Server,
        en: t(
            "Service Restart",
            "The service is restarting; the client may reconnect.",
            "Sent by servers and proxies during a controlled restart or a configuration reload.",
            "Reconnect after a randomised delay (5-30 s) so that all clients do not return at once.",
            "Like 1001, but explicitly temporary: the service will be back.",
            "It coincides with a restart or reload of the server or gateway.",
        ),
        ar: t(
            "إعادة تشغيل الخدمة",
            "الخدمة يُعاد تشغيلها؛ ويمكن للعميل إعادة الاتصال.",
            "ترسله الخوادم والوسائط أثناء إعادة تشغيل مضبوطة أو إعادة تحميل الإعدادات.",
            "أعد الاتصال بعد تأخير عشوائي (من 5 إلى 30 ثانية) حتى لا يعود جميع العملاء في اللحظة نفسها.",
            "مثل 1001 لكنه مؤقت صراحةً: ستعود الخدمة.",
            "يتزامن مع إعادة تشغيل الخادم أو البوابة أو إعادة تحميل إعداداتهما.",
        ),
    },
    CodeEntry {
        first: 1013,
        last: 1013,
        sent_by: SentBy::Server,
        en: t(
            "Try Again Later",
            "The service is overloaded or temporarily unavailable; the client should reconnect later.",
            "Connection limits reached, a server shedding load, upstream capacity exhausted.",
            "Back off (exponential with jitter) before reconnecting; on the server, add capacity or raise connection limits.",
            "Load-related and temporary; nothing wrong in the traffic.",
            "Many connections closed with it at peak load, often shortly after the handshake.",
        ),
        ar: t(
            "حاول لاحقًا",
            "الخدمة محمّلة فوق طاقتها أو غير متاحة مؤقتًا؛ وعلى العميل إعادة الاتصال لاحقًا.",
            "بلوغ حد الاتصالات، أو خادم يخفف الحمل عن نفسه، أو نفاد سعة الخدمات الخلفية.",
            "تمهّل قبل إعادة الاتصال (تأخير أُسّي مع عشوائية)، وفي الخادم زِد السعة أو ارفع حدود الاتصالات.",
            "متعلق بالحمل ومؤقت؛ لا خطأ في حركة البيانات.",
            "تُغلق به اتصالات كثيرة وقت الذروة، وغالبًا بعد المصافحة بقليل.",
        ),
    },
    CodeEntry {
        first: 1014,
        last: 1014,
        sent_by: SentBy::Server,
        en: t(
            "Bad Gateway",
            "A gateway or proxy received an invalid response from the upstream server.",
            "A WebSocket proxy or gateway could not reach the upstream server, or the upstream handshake failed or broke.",
            "Check the health of the upstream service and the proxy's upstream logs; capture on the upstream side of the proxy.",
            "Sent by an intermediary about the server behind it.",
            "The capture point is between the client and a proxy, and the proxy closes with no upstream problem visible here.",
        ),
        ar: t(
            "بوابة سيئة",
            "تلقّت بوابة أو وسيط استجابة غير صالحة من الخادم الخلفي.",
            "تعذّر على وسيط WebSocket أو البوابة الوصول إلى الخادم الخلفي، أو فشلت المصافحة معه أو انقطعت.",
            "تحقق من سلامة الخدمة الخلفية ومن سجلات الوسيط الخاصة بها، والتقط الحركة على الجانب الخلفي من الوسيط.",
            "يرسله وسيط بشأن الخادم الذي خلفه.",
            "نقطة الالتقاط بين العميل والوسيط، والوسيط يغلق دون مشكلة ظاهرة هنا.",
        ),
    },
    CodeEntry {
        first: 1015,
        last: 1015,
        sent_by: SentBy::Local,
        en: t(
            "TLS Handshake",
            "Never sent: reported locally when the TLS handshake failed (e.g. the certificate could not be verified).",
            "wss:// to a server whose certificate is expired, self-signed or for another host name, a missing intermediate certificate, or a TLS version or cipher mismatch.",
            "Fix the certificate chain (openssl s_client -connect host:443 -servername host shows it) or the client's trust store; check the TLS versions allowed by proxies.",
            "Local only; fails before any WebSocket byte is exchanged.",
            "A TLS alert or a TCP close right after the ClientHello/ServerHello, and no HTTP upgrade.",
        ),
        ar: t(
            "مصافحة TLS",
            "لا يُرسل أبدًا: يُبلَّغ عنه محليًا حين تفشل مصافحة TLS (مثل تعذّر التحقق من الشهادة).",
            "اتصال wss:// بخادم شهادته منتهية الصلاحية أو موقّعة ذاتيًا أو لاسم مضيف آخر، أو تنقصها شهادة وسيطة، أو عدم توافق في إصدار TLS أو خوارزميات التشفير.",
            "أصلِح سلسلة الشهادات (يعرضها الأمر openssl s_client -connect host:443 -servername host) أو مخزن الثقة لدى العميل، وراجع إصدارات TLS المسموح بها في الوسائط.",
            "محلي فقط؛ يفشل قبل تبادل أي بايت من WebSocket.",
            "تنبيه TLS أو إغلاق TCP بعد ClientHello/ServerHello مباشرة، ولا ترقية HTTP.",
        ),
    },
    CodeEntry {
        first: 1016,
        last: 2999,
        sent_by: SentBy::Invalid,
        en: t(
            "Unassigned (reserved for the RFC)",
            "Reserved for future revisions of the WebSocket protocol and extensions; not assigned, so not valid in a Close frame (RFC 6455 §7.4.2).",
            "From an implementation that invents its own codes in the wrong range, or corrupted Close bytes.",
            "Use 4000-4999 for application-defined codes (or register a 3000-3999 code with IANA). A compliant receiver fails the connection with 1002.",
            "Not valid on the wire until an RFC assigns it.",
            "Any Close frame carrying it.",
        ),
        ar: t(
            "غير مخصص (محجوز للمعايير)",
            "محجوز للإصدارات القادمة من بروتوكول WebSocket وامتداداته؛ غير مخصص، فلا يصح في إطار Close (RFC 6455 §7.4.2).",
            "من تطبيق يخترع رموزه في النطاق الخطأ، أو من بايتات Close تالفة.",
            "استخدم النطاق 4000-4999 للرموز الخاصة بالتطبيق (أو سجّل رمزًا من 3000-3999 لدى IANA). والمستقبِل الملتزم ينهي الاتصال بالرمز 1002.",
            "لا يصح على الشبكة ما لم يخصصه معيار.",
            "أي إطار Close يحمله.",
        ),
    },
    CodeEntry {
        first: 3000,
        last: 3999,
        sent_by: SentBy::Either,
        en: t(
            "Registered (libraries and frameworks)",
            "Registered with IANA for libraries, frameworks and applications, first come first served; for example 3000 Unauthorized, 3003 Forbidden, 3008 Timeout.",
            "A library or framework closes with a code it registered.",
            "Look the code up in the IANA WebSocket Close Code Number Registry and in the documentation of the library in use.",
            "Its meaning is public and fixed by the registry, unlike 4000-4999.",
            "The code comes from a framework rather than from the application itself: check the library's documentation.",
        ),
        ar: t(
            "مسجّل (للمكتبات والأطر)",
            "مسجّل لدى IANA للمكتبات والأطر والتطبيقات بأسبقية التسجيل؛ ومنها مثلًا 3000 Unauthorized و 3003 Forbidden و 3008 Timeout.",
            "مكتبة أو إطار عمل يغلق برمز سجّله.",
            "ابحث عن الرمز في سجل IANA لأرقام رموز إغلاق WebSocket وفي توثيق المكتبة المستخدمة.",
            "معناه علني ويثبّته السجل، خلافًا للنطاق 4000-4999.",
            "الرمز صادر عن إطار عمل لا عن التطبيق نفسه: راجع توثيق المكتبة.",
        ),
    },
    CodeEntry {
        first: 4000,
        last: 4999,
        sent_by: SentBy::Either,
        en: t(
            "Private Use",
            "For private use: the application defines the meaning; these codes cannot be registered.",
            "Application protocols: graphql-ws uses 4400 bad request, 4401 unauthorized, 4403 forbidden, 4408 connection initialisation timeout, 4429 too many initialisation requests, 4500 internal server error; the Discord gateway uses 4000-4014 (4004 authentication failed).",
            "Look the code up in the documentation of the application or of the negotiated subprotocol (Sec-WebSocket-Protocol), or in the server's code.",
            "Application-specific meaning; the subprotocol in use tells whose meaning applies.",
            "The reason string and the negotiated subprotocol name the application that chose it.",
        ),
        ar: t(
            "استخدام خاص",
            "للاستخدام الخاص: يحدد التطبيق معناه، ولا يمكن تسجيل هذه الرموز.",
            "بروتوكولات التطبيقات: يستخدم graphql-ws الرمز 4400 لطلب غير صالح و 4401 لعدم المصادقة و 4403 للمنع و 4408 لانتهاء مهلة التهيئة و 4429 لكثرة طلبات التهيئة و 4500 لخطأ داخلي في الخادم؛ وتستخدم بوابة Discord النطاق 4000-4014 (4004 فشل المصادقة).",
            "ابحث عن الرمز في توثيق التطبيق أو البروتوكول الفرعي المتفاوض عليه (Sec-WebSocket-Protocol)، أو في شيفرة الخادم.",
            "معناه خاص بالتطبيق، والبروتوكول الفرعي المستخدم يحدد أي معنى ينطبق.",
            "نص السبب والبروتوكول الفرعي المتفاوض عليه يدلّان على التطبيق الذي اختاره.",
        ),
    },
    CodeEntry {
        first: 5000,
        last: u16::MAX,
        sent_by: SentBy::Invalid,
        en: t(
            "Invalid (5000 and above)",
            "Outside every range RFC 6455 defines (§7.4.2); not a valid close code.",
            "From an implementation that treats the code as a free 16-bit number, or corrupted Close bytes.",
            "Use 4000-4999 for application-defined codes. Receivers differ (Autobahn 7.13 accepts 1000, an echo or 1002).",
            "Undefined by the RFC; commonly answered with 1002.",
            "Any Close frame carrying it.",
        ),
        ar: t(
            "غير صالح (5000 فأكثر)",
            "خارج كل النطاقات التي يعرّفها RFC 6455 (§7.4.2)؛ ليس رمز إغلاق صالحًا.",
            "من تطبيق يعامل الرمز كعدد حر من 16 بتًا، أو من بايتات Close تالفة.",
            "استخدم النطاق 4000-4999 للرموز الخاصة بالتطبيق. وتختلف ردود المستقبِلين (يقبل Autobahn 7.13 الرد بـ 1000 أو بإعادة الرمز أو بـ 1002).",
            "غير معرّف في المعيار؛ ويُرد عليه عادةً بالرمز 1002.",
            "أي إطار Close يحمله.",
        ),
    },
];

/// The entry that explains `code` (every code has one).
pub fn entry(code: u16) -> &'static CodeEntry {
    // ENTRIES covers 0..=u16::MAX in order; the fallback is never taken but
    // keeps this total without a panic path.
    let i = ENTRIES.partition_point(|e| e.last < code);
    ENTRIES.get(i).filter(|e| e.contains(code)).unwrap_or(&FALLBACK)
}

/// Never used (see [`entry`]); the last entry's shape.
static FALLBACK: CodeEntry = CodeEntry {
    first: 5000,
    last: u16::MAX,
    sent_by: SentBy::Invalid,
    en: t("Invalid", "Not a valid close code.", "", "", "", ""),
    ar: t("غير صالح", "ليس رمز إغلاق صالحًا.", "", "", "", ""),
};

/// The texts for `code` in `lang`.
pub fn text(code: u16, lang: Lang) -> &'static CodeText {
    entry(code).text(lang)
}

/// Row labels of the comparison, in the order of [`Comparison::rows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKind {
    Description,
    SentBy,
    WhenSeen,
    HowToFix,
    KeyDifferences,
    SuspectWhen,
}

impl RowKind {
    pub const ALL: [RowKind; 6] =
        [RowKind::Description, RowKind::SentBy, RowKind::WhenSeen, RowKind::HowToFix, RowKind::KeyDifferences, RowKind::SuspectWhen];

    pub const fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (RowKind::Description, Lang::En) => "Description",
            (RowKind::SentBy, Lang::En) => "Sent by",
            (RowKind::WhenSeen, Lang::En) => "When you see it",
            (RowKind::HowToFix, Lang::En) => "How to fix it",
            (RowKind::KeyDifferences, Lang::En) => "Key differences",
            (RowKind::SuspectWhen, Lang::En) => "When to suspect it",
            (RowKind::Description, Lang::Ar) => "الوصف",
            (RowKind::SentBy, Lang::Ar) => "من يرسله",
            (RowKind::WhenSeen, Lang::Ar) => "متى تراه",
            (RowKind::HowToFix, Lang::Ar) => "كيف تصلحه",
            (RowKind::KeyDifferences, Lang::Ar) => "الفروق الرئيسية",
            (RowKind::SuspectWhen, Lang::Ar) => "متى تشتبه به",
        }
    }

    fn cell(self, e: &'static CodeEntry, lang: Lang) -> &'static str {
        let tx = e.text(lang);
        match self {
            RowKind::Description => tx.description,
            RowKind::SentBy => e.sent_by.text(lang),
            RowKind::WhenSeen => tx.when_seen,
            RowKind::HowToFix => tx.how_to_fix,
            RowKind::KeyDifferences => tx.key_trait,
            RowKind::SuspectWhen => tx.suspect_when,
        }
    }
}

/// One row of the side-by-side table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub label: &'static str,
    /// The cell for each code, in the order asked.
    pub cells: [&'static str; 2],
}

/// `explain A B`: two codes side by side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub lang: Lang,
    pub codes: [u16; 2],
    pub names: [&'static str; 2],
    pub rows: Vec<Row>,
    /// A note written for this pair when the two are often confused.
    pub note: Option<&'static str>,
}

/// Compares two codes (in the order given).
pub fn compare(a: u16, b: u16, lang: Lang) -> Comparison {
    let (ea, eb) = (entry(a), entry(b));
    let rows =
        RowKind::ALL.iter().map(|&kind| Row { kind, label: kind.label(lang), cells: [kind.cell(ea, lang), kind.cell(eb, lang)] }).collect();
    Comparison { lang, codes: [a, b], names: [ea.text(lang).name, eb.text(lang).name], rows, note: pair_note(a, b, lang) }
}

/// Notes for pairs that are often confused (either order).
pub fn pair_note(a: u16, b: u16, lang: Lang) -> Option<&'static str> {
    let key = if a <= b { (a, b) } else { (b, a) };
    let (en, ar) = match key {
        (1002, 1011) => (
            "1002 blames the bytes the closing side received; 1011 blames the closing side itself. For 1002, look at the frames sent TO the closer just before its Close (wsforensics links the violation); for 1011, look at the closer's logs at that moment, since the traffic is usually fine. A 1002 with no violation in the capture means the bytes were changed after the capture point (a proxy or load balancer) or the closer's parser is wrong.",
            "الرمز 1002 يحمّل المسؤولية للبايتات التي تلقاها الطرف المُغلِق، والرمز 1011 يحمّلها للطرف المُغلِق نفسه. في 1002 انظر إلى الإطارات المرسلة إلى الطرف المُغلِق قبيل إرساله Close (يربط wsforensics المخالفة بها)؛ وفي 1011 انظر إلى سجلات الطرف المُغلِق في تلك اللحظة، فحركة البيانات تكون سليمة عادةً. وإن جاء 1002 دون أي مخالفة في الالتقاط فقد تغيّرت البايتات بعد نقطة الالتقاط (وسيط أو موازن حمل) أو أن محلّل الطرف المُغلِق معيب.",
        ),
        (1001, 1006) => (
            "Both appear around deploys. 1001 means the endpoint said goodbye with a Close frame; 1006 means nobody did: the process died or a middlebox cut the connection before any Close. Many 1006 at once after a deploy point to a server that exits without closing its WebSockets: add a graceful shutdown that sends 1001.",
            "يظهر الرمزان حول عمليات النشر. الرمز 1001 يعني أن الطرف ودّع بإطار Close، والرمز 1006 يعني أن أحدًا لم يودّع: ماتت العملية أو قطع جهاز وسيط الاتصال قبل أي Close. وكثرة 1006 دفعة واحدة بعد النشر تدل على خادم يخرج دون إغلاق اتصالات WebSocket لديه: أضِف إيقافًا سلسًا يرسل 1001.",
        ),
        (1006, 1011) => (
            "1011 is a failure the server reported in a Close frame; 1006 is a failure nobody reported. A crash that kills the process gives 1006 (RST or FIN with no Close); an exception the framework caught gives 1011. Check for an RST and for the server process restarting at the same moment.",
            "الرمز 1011 عطل أبلغ عنه الخادم في إطار Close، والرمز 1006 عطل لم يبلغ عنه أحد. انهيار يقتل العملية يعطي 1006 (RST أو FIN دون Close)، واستثناء التقطه إطار العمل يعطي 1011. ابحث عن RST وعن إعادة تشغيل عملية الخادم في اللحظة نفسها.",
        ),
        (1002, 1007) => (
            "Both mean the receiver rejected what it got. 1002 is about the structure of frames (header bits, opcodes, lengths, masking); 1007 is about the content of a well-framed message (UTF-8, and in many libraries a deflate stream that does not inflate). Libraries differ on deflate errors, so look for both.",
            "كلاهما يعني أن المستقبِل رفض ما تلقاه. الرمز 1002 يخص بنية الإطارات (بتات الترويسة، ورموز العمليات، والأطوال، والقناع)، والرمز 1007 يخص محتوى رسالة سليمة التأطير (UTF-8، وفي مكتبات كثيرة تدفق ضغط يتعذر فكّه). وتختلف المكتبات في رمز أخطاء الضغط، فابحث عن الاثنين.",
        ),
        (1001, 1012) => (
            "1012 is a 1001 that promises the service will come back: both come from planned restarts, and both call for reconnecting with a randomised delay.",
            "الرمز 1012 هو 1001 مع وعد بعودة الخدمة: كلاهما ينتج عن إعادة تشغيل مخطط لها، وكلاهما يستدعي إعادة الاتصال بعد تأخير عشوائي.",
        ),
        (1008, 1011) => (
            "1008 is a deliberate refusal (the application's rules said no); 1011 is an accident (the application failed). A 1008 comes with a reason worth reading; a 1011 with a stack trace in the server logs.",
            "الرمز 1008 رفض مقصود (قواعد التطبيق رفضت)، والرمز 1011 حادث (التطبيق تعطّل). يأتي 1008 عادةً بنص سبب يستحق القراءة، ويأتي 1011 بتتبع خطأ في سجلات الخادم.",
        ),
        _ => return None,
    };
    Some(match lang {
        Lang::En => en,
        Lang::Ar => ar,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_arabic(s: &str) -> bool {
        s.chars().any(|c| ('\u{0600}'..='\u{06ff}').contains(&c))
    }

    fn all_texts(t: &CodeText) -> [&'static str; 6] {
        [t.name, t.description, t.when_seen, t.how_to_fix, t.key_trait, t.suspect_when]
    }

    #[test]
    fn every_registered_code_has_text_in_both_languages() {
        for code in 1000..=1015u16 {
            let e = entry(code);
            assert_eq!((e.first, e.last), (code, code), "{code} has its own entry");
            for s in all_texts(&e.en) {
                assert!(!s.trim().is_empty(), "{code} en");
                assert!(!is_arabic(s), "{code} en text is English");
            }
            for s in all_texts(&e.ar) {
                assert!(!s.trim().is_empty(), "{code} ar");
                assert!(is_arabic(s), "{code} ar text is Arabic: {s}");
            }
        }
    }

    #[test]
    fn ranges_cover_every_code() {
        let mut next = 0u32;
        for e in ENTRIES {
            assert_eq!(u32::from(e.first), next, "no hole before {}", e.first);
            assert!(e.first <= e.last);
            for s in all_texts(&e.en).into_iter().chain(all_texts(&e.ar)) {
                assert!(!s.is_empty(), "{}-{}", e.first, e.last);
            }
            next = u32::from(e.last) + 1;
        }
        assert_eq!(next, 65536);
        assert!(!std::ptr::eq(entry(u16::MAX), &FALLBACK));
    }

    #[test]
    fn range_lookups() {
        assert_eq!(entry(3001).en.name, "Registered (libraries and frameworks)");
        assert_eq!((entry(3001).first, entry(3001).last), (3000, 3999));
        assert_eq!(entry(4999).en.name, "Private Use");
        assert_eq!(entry(4000).first, 4000);
        assert!(entry(4000).is_range());
        assert_eq!(entry(999).sent_by, SentBy::Invalid);
        assert_eq!(entry(2000).sent_by, SentBy::Invalid);
        assert_eq!(entry(5000).sent_by, SentBy::Invalid);
        assert_eq!(entry(65535).en.name, "Invalid (5000 and above)");
        assert_eq!(text(1011, Lang::En).name, "Internal Error");
        assert_eq!(text(1006, Lang::Ar).name, "إغلاق غير طبيعي");
        // Local-only codes and the reserved one are never on the wire.
        for code in [1004u16, 1005, 1006, 1015] {
            assert!(!entry(code).sent_by.on_wire(), "{code}");
        }
        for code in [1000u16, 1002, 1010, 1011, 1012, 3000, 4999] {
            assert!(entry(code).sent_by.on_wire(), "{code}");
        }
    }

    #[test]
    fn names_agree_with_the_close_module() {
        for code in 1000..=1015u16 {
            assert_eq!(text(code, Lang::En).name, crate::ws::close::code_name(code), "{code}");
        }
    }

    #[test]
    fn explain_1002_1011_side_by_side() {
        for lang in [Lang::En, Lang::Ar] {
            let c = compare(1002, 1011, lang);
            assert_eq!(c.codes, [1002, 1011]);
            assert_eq!(c.rows.len(), RowKind::ALL.len());
            let kinds: Vec<RowKind> = c.rows.iter().map(|r| r.kind).collect();
            for k in [RowKind::Description, RowKind::WhenSeen, RowKind::HowToFix, RowKind::KeyDifferences, RowKind::SuspectWhen] {
                assert!(kinds.contains(&k));
            }
            for r in &c.rows {
                assert!(!r.cells[0].is_empty() && !r.cells[1].is_empty());
                assert_ne!(r.cells[0], r.cells[1], "{:?} must differ", r.kind);
                assert_eq!(is_arabic(r.label), lang == Lang::Ar);
            }
            let note = c.note.expect("1002/1011 has a note");
            assert_eq!(is_arabic(note), lang == Lang::Ar);
            assert_eq!(compare(1011, 1002, lang).note, Some(note), "either order");
        }
        let c = compare(1002, 1011, Lang::En);
        assert_eq!(c.names, ["Protocol Error", "Internal Error"]);
        assert_eq!(c.rows[0].label, "Description");
        let ar = compare(1002, 1011, Lang::Ar);
        assert_eq!(ar.rows[0].label, "الوصف");
        assert!(compare(1000, 4001, Lang::En).note.is_none());
        // Any two codes compare, even invalid ones.
        assert_eq!(compare(0, 65535, Lang::Ar).rows.len(), RowKind::ALL.len());
    }

    #[test]
    fn languages() {
        assert_eq!(Lang::from_code("AR"), Some(Lang::Ar));
        assert_eq!(Lang::from_code("en"), Some(Lang::En));
        assert_eq!(Lang::from_code("fr"), None);
        assert!(Lang::Ar.is_rtl() && !Lang::En.is_rtl());
        assert_eq!(Lang::Ar.code(), "ar");
    }
}
