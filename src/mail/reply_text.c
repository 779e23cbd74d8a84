/*
 * The new text of a reply (mail/reply_text.h): a scan of the lines of a message
 * for the first quote header, then the signature above it. The phrase lists
 * are what the common clients write (Gmail, Outlook desktop and web, Apple
 * Mail, Thunderbird, Yahoo, the mobile apps) in the languages of reply.h.
 */
#include "mail/reply_text.h"

#include <stdbool.h>
#include <string.h>

enum {
    SIGNOFF_LINE_LEN = 72,   /* "short": a name, a title, a company, a phone */
    ATTRIB_LINES_MAX = 3,    /* lines an attribution may be wrapped over */
    ATTRIB_LEN_MAX = 400,    /* bytes of an attribution */
    HEADER_FIELDS_SPAN = 6,  /* lines after "From:" where "Sent:" or "Subject:" may be */
    MOBILE_LINE_LEN = 80,    /* a "Sent from my ..." line is short */
    NAME_LEN_MAX = 40,       /* bytes of a line that is just a name */
    NAME_WORDS_MAX = 5,      /* "Dr. Anna Maria van Berg" */
    SHORT_NAME_LEN = 24,     /* "mike", "j. smith" after a sign-off */
    SIGNOFF_NAME_LEN = 60,   /* "Viele Grüße, Anna Berg" */
    SENTENCE_WORDS = 12,     /* a line of this many words is a sentence */
    SENTENCE_DOT_WORDS = 6,  /* ... or of this many ending with a dot */
    DISCLAIMER_LEN_MIN = 40, /* bytes of a disclaimer's first line */
    RULE_LEN_MIN = 10,       /* "__________" */
    ORG_WORD_LEN = 24,       /* bytes of a word of a title or company form */
};

struct line {
    const char *p;
    size_t n;
};

static bool blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The line without blanks (no-break spaces included) at both ends. */
static struct line trim(struct line l)
{
    for (;;) {
        if (l.n && blank((unsigned char)l.p[0]))
            l.p++, l.n--;
        else if (l.n >= 2 && (unsigned char)l.p[0] == 0xc2 && (unsigned char)l.p[1] == 0xa0)
            l.p += 2, l.n -= 2;
        else
            break;
    }
    for (;;) {
        if (l.n && blank((unsigned char)l.p[l.n - 1]))
            l.n--;
        else if (l.n >= 2 && (unsigned char)l.p[l.n - 2] == 0xc2 &&
                 (unsigned char)l.p[l.n - 1] == 0xa0)
            l.n -= 2;
        else
            break;
    }
    return l;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive (ASCII letters) comparison of n bytes. */
static bool same_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

static bool starts_nocase(struct line l, const char *s)
{
    size_t n = strlen(s);
    return l.n >= n && same_nocase(l.p, s, n);
}

/* The first byte is compared before the length is taken: most lines start
 * with none of the list's letters. Setting bit 5 folds the case of ASCII
 * letters; that other bytes may fold together only costs a comparison. */
static bool starts_any(struct line l, const char *const *list)
{
    if (l.n == 0)
        return false;
    unsigned char c = (unsigned char)l.p[0] | 0x20;
    for (; *list; list++)
        if (((unsigned char)**list | 0x20) == c && starts_nocase(l, *list))
            return true;
    return false;
}

static bool contains_nocase(struct line l, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= l.n; i++)
        if (lower(l.p[i]) == s[0] && same_nocase(l.p + i, s, n))
            return true;
    return false;
}

static bool is_quoted(struct line l)
{
    l = trim(l);
    return l.n && l.p[0] == '>';
}

/* ---- quote headers ------------------------------------------------------- */

/* Outlook's header fields, by what they hold, in the languages of reply.h. */
static const char *const field_from[] = {"From", "Von", "De",       "Da",        "Van", "Från",
                                         "Fra",  "Od",  "Mittente", "Lähettäjä", NULL};
static const char *const field_sent[] = {
    "Sent",    "Date",  "Gesendet", "Datum",   "Envoyé",    "Enviado el", "Enviado",
    "Enviada", "Fecha", "Data",     "Inviato", "Verzonden", "Verstuurd",  "Skickat",
    "Sendt",   "Dato",  "Wysłano",  "Wysłane", "Sent at",   "Lähetetty",  NULL};
static const char *const field_subject[] = {"Subject", "Betreff",   "Objet", "Asunto", "Assunto",
                                            "Oggetto", "Onderwerp", "Ämne",  "Emne",   "Temat",
                                            "Tema",    "Aihe",      NULL};
static const char *const field_to[] = {"To",  "An", "À",  "A",     "Para",          "Aan", "Till",
                                       "Til", "Do", "Cc", "Kopie", "Vastaanottaja", NULL};

/* "Name:" (any of names) at the start of the line, maybe bold ("*From:*")
 * and with blanks before the colon ("De :"). */
static bool field_is(struct line l, const char *const *names)
{
    l = trim(l);
    while (l.n && l.p[0] == '*')
        l.p++, l.n--;
    if (l.n == 0)
        return false;
    char c = lower(l.p[0]);
    for (; *names; names++) {
        if (lower(**names) != c)
            continue;
        size_t n = strlen(*names);
        if (l.n <= n || !same_nocase(l.p, *names, n))
            continue;
        struct line r = {l.p + n, l.n - n};
        while (r.n && r.p[0] == '*')
            r.p++, r.n--;
        r = trim(r);
        while (r.n && r.p[0] == '*')
            r.p++, r.n--;
        if (r.n && r.p[0] == ':')
            return true;
    }
    return false;
}

/* Outlook's block: "From:" and, within a few lines, when it was sent, the
 * subject or the recipients; a subject line or an address on the "From:"
 * line tells it from a table in the text ("From: Hamburg / To: Munich /
 * Date: ..."). Returns the lines of the block, or 0. */
static size_t outlook_block(const struct line *L, size_t i, size_t n)
{
    if (!field_is(L[i], field_from))
        return 0;
    bool more = false, subject = false;
    size_t k = i + 1;
    for (; k < n && k <= i + HEADER_FIELDS_SPAN; k++) {
        if (trim(L[k]).n == 0)
            break;
        if (field_is(L[k], field_subject))
            more = subject = true;
        else if (field_is(L[k], field_sent) || field_is(L[k], field_to))
            more = true;
    }
    if (!more || (!subject && !memchr(L[i].p, '@', L[i].n)))
        return 0;
    return k - i;
}

/* "-----Original Message-----", "---------- Forwarded message ---------",
 * "-------- Ursprüngliche Nachricht --------" and the like. */
static bool separator(struct line t)
{
    static const char *const names[] = {"original message",
                                        "forwarded message",
                                        "reply message",
                                        "ursprüngliche nachricht",
                                        "originalnachricht",
                                        "weitergeleitete nachricht",
                                        "message d'origine",
                                        "message original",
                                        "message transféré",
                                        "mensaje original",
                                        "mensaje reenviado",
                                        "mensagem original",
                                        "mensagem encaminhada",
                                        "mensagem reencaminhada",
                                        "messaggio originale",
                                        "messaggio inoltrato",
                                        "oorspronkelijk bericht",
                                        "origineel bericht",
                                        "doorgestuurd bericht",
                                        "ursprungligt meddelande",
                                        "originalmeddelande",
                                        "vidarebefordrat meddelande",
                                        "oprindelig meddelelse",
                                        "videresendt meddelelse",
                                        "opprinnelig melding",
                                        "videresendt melding",
                                        "wiadomość oryginalna",
                                        "oryginalna wiadomość",
                                        "przekazana wiadomość",
                                        "wiadomość przekazana",
                                        NULL};
    size_t lead = 0;
    while (lead < t.n && (t.p[lead] == '-' || t.p[lead] == '_' || t.p[lead] == '=' ||
                          t.p[lead] == '*' || t.p[lead] == ' '))
        lead++;
    if (lead < 2)
        return false;
    struct line r = {t.p + lead, t.n - lead};
    return starts_any(r, names);
}

/* Apple Mail's and others' unframed start of a forwarded message. */
static bool forward_intro(struct line t)
{
    static const char *const intros[] = {"Begin forwarded message",
                                         "Forwarded message:",
                                         "Anfang der weitergeleiteten Nachricht",
                                         "Début du message réexpédié",
                                         "Début du message transféré",
                                         "Inicio del mensaje reenviado",
                                         "Início da mensagem reencaminhada",
                                         "Início da mensagem encaminhada",
                                         "Inizio messaggio inoltrato",
                                         "Begin doorgestuurd bericht",
                                         "Vidarebefordrat brev",
                                         "Vidarebefordrat mejl",
                                         "Start på videresendt besked",
                                         "Start på videresendt meddelelse",
                                         "Videresendt melding:",
                                         "Początek przekazywanej wiadomości",
                                         NULL};
    return t.n && t.p[t.n - 1] == ':' && starts_any(t, intros);
}

/* The verbs of "On <date>, <name> wrote:" in the languages of reply.h. */
static bool attribution_text(struct line j)
{
    static const char *const verbs[] = {"wrote",    "writes",     "schrieb", "a écrit", "escribió",
                                        "escreveu", "scritto",    "schreef", "skrev",   "pisze",
                                        "napisa",   "geschreven", NULL};
    if (j.n == 0 || j.n > ATTRIB_LEN_MAX || j.p[j.n - 1] != ':')
        return false;
    bool digit_or_at = false;
    for (size_t i = 0; i < j.n && !digit_or_at; i++)
        digit_or_at = (j.p[i] >= '0' && j.p[i] <= '9') || j.p[i] == '@';
    if (!digit_or_at)
        return false;
    for (const char *const *v = verbs; *v; v++)
        if (contains_nocase(j, *v))
            return true;
    return false;
}

/* The lines of an attribution starting at line i (wrapped over up to three
 * lines), or 0. The joined text is checked in a small buffer. */
static size_t attribution_lines(const struct line *L, size_t i, size_t n)
{
    /* Most lines are not: none of the next few ends with a colon. */
    bool colon = false;
    for (size_t k = i; k < n && k < i + ATTRIB_LINES_MAX && !colon; k++) {
        struct line t = trim(L[k]);
        if (t.n == 0)
            break;
        colon = t.p[t.n - 1] == ':';
    }
    if (!colon)
        return 0;
    char buf[ATTRIB_LEN_MAX + 1];
    size_t len = 0;
    for (size_t k = i; k < n && k < i + ATTRIB_LINES_MAX; k++) {
        struct line t = trim(L[k]);
        if (t.n == 0 || t.p[0] == '>' || len + t.n + 1 > ATTRIB_LEN_MAX)
            return 0;
        if (len)
            buf[len++] = ' ';
        memcpy(buf + len, t.p, t.n);
        len += t.n;
        if (t.p[t.n - 1] != ':')
            continue;
        struct line j = {buf, len};
        return attribution_text(j) ? k - i + 1 : 0;
    }
    return 0;
}

/* An attribution that starts at line i and not at a later line: the line
 * before a wrapped attribution is the sender's, not part of it. */
static size_t attribution_at(const struct line *L, size_t i, size_t n)
{
    size_t h = attribution_lines(L, i, n);
    if (h > 1 && attribution_lines(L, i + 1, n) == h - 1)
        return 0;
    return h;
}

enum quote_kind { Q_NONE, Q_ATTRIBUTION, Q_BLOCK };

/* Where the quoted history starts at or after line from: its line index
 * (or n), its kind and the lines of its header. */
static size_t quote_start(const struct line *L, size_t from, size_t n, enum quote_kind *kind,
                          size_t *hlen)
{
    *kind = Q_NONE;
    *hlen = 0;
    for (size_t i = from; i < n; i++) {
        struct line t = trim(L[i]);
        if (t.n == 0 || t.p[0] == '>')
            continue;
        if (separator(t) || forward_intro(t)) {
            *kind = Q_BLOCK;
            *hlen = 1;
            return i;
        }
        size_t h = attribution_at(L, i, n);
        if (h) {
            *kind = Q_ATTRIBUTION;
            *hlen = h;
            return i;
        }
        size_t at = i;
        if (t.n >= 10 && strspn(t.p, "_") >= 10) {
            /* Outlook's rule above the header block. */
            at = i + 1;
            while (at < n && at < i + 3 && trim(L[at]).n == 0)
                at++;
            if (at >= n)
                continue;
        }
        h = outlook_block(L, at, n);
        if (h) {
            *kind = Q_BLOCK;
            *hlen = at - i + h;
            return i;
        }
    }
    return n;
}

/* Any line of [from, to) that is neither blank nor quoted. */
static bool has_text(const struct line *L, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        struct line t = trim(L[i]);
        if (t.n && t.p[0] != '>')
            return true;
    }
    return false;
}

/* ---- signatures ---------------------------------------------------------- */

/* What the mobile apps and some desktop clients add below the text. */
static bool mobile_line(struct line t)
{
    static const char *const lines[] = {"Sent from my ",
                                        "Sent from Outlook",
                                        "Sent from Mail for Windows",
                                        "Sent from Yahoo Mail",
                                        "Sent from the all new AOL app",
                                        "Sent from Gmail Mobile",
                                        "Sent from mobile",
                                        "Sent with Spark",
                                        "Sent from Samsung",
                                        "Get Outlook for ",
                                        "Von meinem iPhone",
                                        "Von meinem iPad",
                                        "Von meinem Samsung",
                                        "Von meinem Android",
                                        "Von meinem Smartphone",
                                        "Gesendet von meinem ",
                                        "Gesendet von Outlook",
                                        "Gesendet mit ",
                                        "Outlook für ",
                                        "Envoyé de mon ",
                                        "Envoyé depuis mon ",
                                        "Envoyé à partir de ",
                                        "Obtenir Outlook pour ",
                                        "Enviado desde mi ",
                                        "Enviado desde Outlook",
                                        "Enviado do meu ",
                                        "Enviado de meu ",
                                        "Enviado do Outlook",
                                        "Obtener Outlook para ",
                                        "Obter o Outlook para ",
                                        "Inviato da iPhone",
                                        "Inviato da iPad",
                                        "Inviato da Outlook",
                                        "Inviato dal mio ",
                                        "Ottieni Outlook per ",
                                        "Verstuurd vanaf mijn ",
                                        "Verzonden vanaf mijn ",
                                        "Verzonden met ",
                                        "Outlook voor ",
                                        "Skickat från min ",
                                        "Skickat från Outlook",
                                        "Hämta Outlook för ",
                                        "Sendt fra min ",
                                        "Sendt fra Outlook",
                                        "Hent Outlook til ",
                                        "Få Outlook til ",
                                        "Wysłane z mojego ",
                                        "Wysłane z iPhone",
                                        "Wysłane z Outlook",
                                        "Pobierz aplikację Outlook",
                                        "Holen Sie sich Outlook",
                                        NULL};
    return t.n > 0 && t.n <= MOBILE_LINE_LEN && starts_any(t, lines);
}

/* A word of a name: capitalized ("Anna", "O'Neill", "Al-Mansouri", "Ł..."
 * as any non-ASCII start), an initial or title ("K.", "Dr."), or one of the
 * particles of surnames ("van", "de", "von"). */
static bool name_word(const char *w, size_t n, bool first)
{
    static const char *const particles[] = {"van", "von", "de",  "der", "den", "da", "das",
                                            "do",  "dos", "di",  "del", "la",  "le", "du",
                                            "ter", "zu",  "bin", "al",  "y",   NULL};
    unsigned char c = (unsigned char)w[0];
    if ((c >= 'A' && c <= 'Z') || c >= 0xc3)
        return true;
    if (first)
        return false;
    for (const char *const *p = particles; *p; p++)
        if (strlen(*p) == n && memcmp(*p, w, n) == 0)
            return true;
    return false;
}

/* A line that is just a name: one to four words (five with a title such as
 * "Dr."), no digits, no punctuation at the end but an initial's dot. */
static bool name_like(struct line t)
{
    if (t.n == 0 || t.n > NAME_LEN_MAX)
        return false;
    char last = t.p[t.n - 1];
    if (last == ',' || last == ':' || last == '?' || last == '!' || last == ';')
        return false;
    size_t words = 0;
    for (size_t i = 0; i < t.n;) {
        while (i < t.n && t.p[i] == ' ')
            i++;
        if (i == t.n)
            break;
        size_t w = i;
        while (i < t.n && t.p[i] != ' ') {
            char c = t.p[i];
            if ((c >= '0' && c <= '9') || c == '@' || c == '|' || c == '/' || c == ':' ||
                c == '(' || c == '+' || c == '&' || c == '"' || c == ',')
                return false;
            i++;
        }
        if (!name_word(t.p + w, i - w, words == 0) || ++words > NAME_WORDS_MAX)
            return false;
        /* A dot ends only an initial or a title, not a sentence. */
        if (t.p[i - 1] == '.' && i - w > 5)
            return false;
    }
    return words > 0;
}

/* Sign-offs in the languages of reply.h, lower case, in strcmp order:
 * signoff() looks up the ones starting with a line's first byte. */
static const char *const signoffs[] = {
    "a presto",
    "abrazos",
    "abraço",
    "abraços",
    "abs",
    "all best",
    "all the best",
    "alvast bedankt",
    "amicalement",
    "atenciosamente",
    "atentamente",
    "att",
    "atte",
    "até breve",
    "bedankt",
    "bedste hilsner",
    "beijos",
    "belle journée",
    "besos",
    "best",
    "best of luck",
    "best regards",
    "best wishes",
    "beste grüsse",
    "beste grüße",
    "beste hilsen",
    "besten dank",
    "bien amicalement",
    "bien cordialement",
    "bien à vous",
    "bis bald",
    "bises",
    "bonne fin de journée",
    "bonne journée",
    "bonne soirée",
    "br",
    "buon lavoro",
    "buona giornata",
    "buona serata",
    "bästa hälsningar",
    "cheers",
    "ciao",
    "com os melhores cumprimentos",
    "cordialement",
    "cordiali saluti",
    "cordially",
    "cordialmente",
    "cumprimentos",
    "dank je wel",
    "dank u wel",
    "danke",
    "danke und grüße",
    "de bedste hilsner",
    "distinti saluti",
    "dzięki",
    "dziękuję",
    "fijne dag",
    "freundliche grüsse",
    "freundliche grüße",
    "gr",
    "gracias",
    "grata",
    "grato",
    "grazie",
    "grazie mille",
    "greetings",
    "groet",
    "groeten",
    "groetjes",
    "gruss",
    "gruß",
    "grüsse",
    "grüße",
    "ha en bra dag",
    "hartelijke groet",
    "hartelijke groeten",
    "have a good day",
    "have a good weekend",
    "have a great day",
    "have a great weekend",
    "have a nice day",
    "herzliche grüsse",
    "herzliche grüße",
    "hilsen",
    "hälsning",
    "hälsningar",
    "kind regards",
    "kind wishes",
    "kærlig hilsen",
    "lg",
    "liebe grüsse",
    "liebe grüße",
    "mange tak",
    "many thanks",
    "many thanks in advance",
    "med venlig hilsen",
    "med vennlig hilsen",
    "med vänlig hälsning",
    "med vänliga hälsningar",
    "meilleures salutations",
    "melhores cumprimentos",
    "merci",
    "merci beaucoup",
    "merci d'avance",
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "mfg",
    "mil gracias",
    "mit besten grüßen",
    "mit freundlichem gruß",
    "mit freundlichen grüssen",
    "mit freundlichen grüßen",
    "miłego dnia",
    "muchas gracias",
    "muito obrigada",
    "muito obrigado",
    "mvg",
    "mvh",
    "obrigada",
    "obrigado",
    "pozdrawiam",
    "pozdrawiam serdecznie",
    "pozdrowienia",
    "quedo a la espera",
    "quedo atenta",
    "quedo atento",
    "regards",
    "regards from",
    "respectfully",
    "rgds",
    "saludos",
    "saludos cordiales",
    "salutations",
    "salutations distinguées",
    "saluti",
    "saluti cordiali",
    "saudações",
    "schöne grüsse",
    "schöne grüße",
    "schönen gruß",
    "serdecznie pozdrawiam",
    "servus",
    "sincerely",
    "sincerely yours",
    "sincères salutations",
    "speak soon",
    "stay safe",
    "tack",
    "tack så mycket",
    "tak",
    "take care",
    "takk",
    "talk soon",
    "thank you",
    "thank you & regards",
    "thank you in advance",
    "thanking you",
    "thanks",
    "thanks & regards",
    "thanks a lot",
    "thanks again",
    "thanks and regards",
    "thanks in advance",
    "thanks so much",
    "thx",
    "très cordialement",
    "tusen takk",
    "um abraço",
    "un abrazo",
    "un caro saluto",
    "un cordial saludo",
    "un fuerte abrazo",
    "un saludo",
    "un saluto",
    "venlig hilsen",
    "vennlig hilsen",
    "vg",
    "vh",
    "viele grüsse",
    "viele grüße",
    "vielen dank",
    "vriendelijke groet",
    "vriendelijke groeten",
    "vänlig hälsning",
    "vänliga hälsningar",
    "warm regards",
    "warm wishes",
    "warmest regards",
    "warmly",
    "with best regards",
    "with gratitude",
    "with kind regards",
    "with regards",
    "with thanks",
    "with warm regards",
    "yours",
    "yours faithfully",
    "yours sincerely",
    "yours truly",
    "z poważaniem",
    "z pozdrowieniami",
    "z wyrazami szacunku",
    "à bientôt",
    "à très vite",
};
enum { SIGNOFFS = sizeof(signoffs) / sizeof(signoffs[0]) };

enum signoff_kind { SO_NONE, SO_LINE, SO_NAME };

/* The words of "from <place>" after a sign-off. */
static const char *const places[] = {"from ", "aus ", "de ",   "desde ", "da ", "dal ", "dalla ",
                                     "uit ",  "van ", "från ", "fra ",   "z ",  "ze ",  NULL};

/* A sign-off line: the phrase alone ("Best regards,": SO_LINE) or followed by
 * the sender's name ("Thanks, Anna", "Un saludo, Lucía": SO_NAME). */
static enum signoff_kind signoff(struct line l)
{
    l = trim(l);
    while (l.n && (l.p[l.n - 1] == ',' || l.p[l.n - 1] == '!' || l.p[l.n - 1] == '.' ||
                   l.p[l.n - 1] == ' '))
        l.n--;
    if (l.n == 0 || l.n > SIGNOFF_NAME_LEN)
        return SO_NONE;
    char c = lower(l.p[0]);
    size_t lo = 0, hi = SIGNOFFS; /* the first phrase starting with c or above */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((unsigned char)signoffs[mid][0] < (unsigned char)c)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < SIGNOFFS && signoffs[k][0] == c; k++) {
        const char *p = signoffs[k];
        size_t n = strlen(p);
        if (n > l.n || !same_nocase(p, l.p, n))
            continue;
        if (n == l.n)
            return SO_LINE;
        if (l.p[n] != ',' && l.p[n] != ' ' && l.p[n] != '!')
            continue;
        struct line r = {l.p + n, l.n - n};
        while (r.n && (r.p[0] == ',' || r.p[0] == '!' || r.p[0] == ' '))
            r.p++, r.n--;
        if (r.n && r.n <= NAME_LEN_MAX && name_like(r))
            return SO_NAME;
        /* "Viele Grüße aus Berlin", "Greetings from Lisbon". */
        if (l.p[n] == ' ' && starts_any(r, places))
            return SO_LINE;
    }
    return SO_NONE;
}

/* The line after a sign-off is the sender's name: a name, maybe after a
 * dash ("- Anna"), or a word or two in lower case ("mike"). */
static bool signed_name(struct line t)
{
    while (t.n && (t.p[0] == '-' || t.p[0] == '~' || t.p[0] == ' '))
        t.p++, t.n--;
    if (t.n >= 3 && (unsigned char)t.p[0] == 0xe2 && (unsigned char)t.p[1] == 0x80 &&
        ((unsigned char)t.p[2] == 0x93 || (unsigned char)t.p[2] == 0x94)) /* "–", "—" */
        t = trim((struct line){t.p + 3, t.n - 3});
    if (name_like(t))
        return true;
    if (t.n == 0 || t.n > SHORT_NAME_LEN)
        return false;
    size_t spaces = 0;
    for (size_t i = 0; i < t.n; i++) {
        unsigned char c = (unsigned char)t.p[i];
        if (c == ' ')
            spaces++;
        else if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && c < 0x80 && c != '.' && c != '\'' &&
                 c != '-')
            return false;
    }
    return spaces <= 1;
}

/* A line with a word of a job title or a company's form ("HR Director",
 * "Huber AG"), which a name alone does not have. */
static bool org_word(struct line t)
{
    static const char *const words[] = {"director",
                                        "directeur",
                                        "directrice",
                                        "directora",
                                        "diretor",
                                        "diretora",
                                        "manager",
                                        "head",
                                        "lead",
                                        "officer",
                                        "engineer",
                                        "founder",
                                        "partner",
                                        "owner",
                                        "president",
                                        "assistant",
                                        "consultant",
                                        "executive",
                                        "ceo",
                                        "cto",
                                        "cfo",
                                        "coo",
                                        "cio",
                                        "ciso",
                                        "vp",
                                        "leiter",
                                        "leiterin",
                                        "einkauf",
                                        "vertrieb",
                                        "buchhaltung",
                                        "responsable",
                                        "gerente",
                                        "responsabile",
                                        "chef",
                                        "kierownik",
                                        "dyrektor",
                                        "team",
                                        "group",
                                        "ltd",
                                        "gmbh",
                                        "inc",
                                        "llc",
                                        "ag",
                                        "ab",
                                        "as",
                                        "aps",
                                        "bv",
                                        "sa",
                                        "srl",
                                        "spa",
                                        "plc",
                                        "oy",
                                        "ltda",
                                        "lda",
                                        "nv",
                                        "kg",
                                        "corp",
                                        "counsel",
                                        "operations",
                                        "sales",
                                        "marketing",
                                        "finance",
                                        "procurement",
                                        "purchasing",
                                        "hr",
                                        "it",
                                        "support",
                                        "success",
                                        "accounts",
                                        "office",
                                        "specialist",
                                        "coordinator",
                                        "analyst",
                                        "administrator",
                                        "secretary",
                                        "accountant",
                                        "buyer",
                                        "controller",
                                        "architect",
                                        "developer",
                                        "recruiter",
                                        "advisor",
                                        "associate",
                                        "principal",
                                        "dept",
                                        "department",
                                        "geschäftsführer",
                                        "geschäftsführerin",
                                        NULL};
    for (size_t i = 0; i < t.n;) {
        while (i < t.n && strchr(" ,-/", t.p[i]))
            i++;
        size_t w = i;
        while (i < t.n && !strchr(" ,-/", t.p[i]))
            i++;
        size_t n = i - w;
        while (n && (t.p[w + n - 1] == '.'))
            n--;
        /* "B.V.", "S.r.l.": the letters only */
        char buf[ORG_WORD_LEN];
        size_t k = 0;
        for (size_t j = 0; j < n && k < sizeof(buf); j++)
            if (t.p[w + j] != '.')
                buf[k++] = lower(t.p[w + j]);
        if (k == 0 || k == sizeof(buf))
            continue;
        for (const char *const *p = words; *p; p++)
            if (strlen(*p) == k && memcmp(*p, buf, k) == 0)
                return true;
    }
    return false;
}

/* Sentence-like: a question, an exclamation, or a long line or statement.
 * Signature lines (a title, a company, an address, a phone; fields set
 * apart by "|") are not. */
static bool sentence_like(struct line t)
{
    if (t.n > SIGNOFF_LINE_LEN)
        return true;
    char last = t.p[t.n - 1];
    if (last == '?' || last == '!')
        return true;
    if (memchr(t.p, '|', t.n))
        return false;
    size_t words = 1;
    for (size_t i = 0; i < t.n; i++)
        words += t.p[i] == ' ';
    return words >= SENTENCE_WORDS || (last == '.' && words >= SENTENCE_DOT_WORDS);
}

/* ---- what follows the text: disclaimers, list footers, invitations ------- */

/* A legal disclaimer's first line: its heading, or its usual opening with a
 * word of confidentiality in it. */
static bool disclaimer(struct line t)
{
    static const char *const headings[] = {"CONFIDENTIALITY NOTICE",
                                           "CONFIDENTIALITY:",
                                           "CONFIDENTIAL:",
                                           "DISCLAIMER",
                                           "Legal disclaimer",
                                           "IMPORTANT NOTICE",
                                           "IMPORTANT:",
                                           "NOTICE:",
                                           "Please consider the environment",
                                           "Think before you print",
                                           NULL};
    static const char *const openings[] = {
        "This e-mail",         "This email",         "This message",
        "This communication",  "The information",    "The content",
        "Any views",           "If you are not",     "If you have received",
        "Diese E-Mail",        "Diese Nachricht",    "Dieses E-Mail",
        "Die Information",     "Ce message",         "Ce courriel",
        "Ce courrier",         "Cet e-mail",         "Cet email",
        "Les informations",    "Este mensaje",       "Este correo",
        "La información",      "Esta mensagem",      "Este e-mail",
        "Este email",          "A informação",       "As informações",
        "Questo messaggio",    "Questa e-mail",      "Questa email",
        "Le informazioni",     "Dit bericht",        "Deze e-mail",
        "Dit e-mailbericht",   "De informatie",      "Detta e-post",
        "Detta meddelande",    "Detta mejl",         "Informationen i",
        "Denne e-mail",        "Denne e-post",       "Denne meddelelse",
        "Denne meldingen",     "Ta wiadomość",       "Treść tej",
        "Niniejsza wiadomość", "Informacje zawarte", NULL};
    static const char *const words[] = {"confiden",      "intended",  "privileg",     "vertraulich",
                                        "empfänger",     "destinata", "destinatá",    "riservat",
                                        "vertrouwelijk", "bestemd",   "konfidentiel", "fortrolig",
                                        "poufn",         "adresat",   "exclusiv",     "esclusiv",
                                        "sigilos",       "recipient", "addressee",    NULL};
    if (starts_any(t, headings))
        return true;
    if (t.n < DISCLAIMER_LEN_MIN || !starts_any(t, openings))
        return false;
    for (const char *const *w = words; *w; w++)
        if (contains_nocase(t, *w))
            return true;
    return false;
}

/* A mailing list's or newsletter's footer. */
static bool list_footer(struct line t)
{
    static const char *const lines[] = {"You are receiving this",
                                        "You're receiving this",
                                        "You received this",
                                        "You have received this email because",
                                        "You are subscribed",
                                        "To unsubscribe",
                                        "To stop receiving",
                                        "Unsubscribe",
                                        "Manage preferences",
                                        "Manage your preferences",
                                        "Manage your subscription",
                                        "Manage email preferences",
                                        "Update your preferences",
                                        "Update your email preferences",
                                        "If you no longer wish",
                                        "If you'd rather not receive",
                                        "Don't want these emails",
                                        "Sie erhalten diese",
                                        "Sie erhalten diesen",
                                        "Abmelden",
                                        "Newsletter abbestellen",
                                        "Vous recevez ce",
                                        "Vous recevez cet",
                                        "Se désinscrire",
                                        "Se désabonner",
                                        "Désinscription",
                                        "Recibes este",
                                        "Has recibido este",
                                        "Darse de baja",
                                        "Cancelar suscripción",
                                        "Você está recebendo",
                                        "Cancelar inscrição",
                                        "Descadastrar",
                                        "Ricevi questa",
                                        "Hai ricevuto questa",
                                        "Annulla iscrizione",
                                        "Disiscriviti",
                                        "U ontvangt deze",
                                        "Je ontvangt deze",
                                        "Afmelden",
                                        "Uitschrijven",
                                        "Du får detta",
                                        "Avsluta prenumeration",
                                        "Avregistrera",
                                        "Du modtager denne",
                                        "Afmeld",
                                        "Du mottar denne",
                                        "Meld deg av",
                                        "Otrzymujesz tę",
                                        "Wypisz się",
                                        "Zrezygnuj z subskrypcji",
                                        NULL};
    return starts_any(t, lines);
}

/* What a calendar adds to an invitation's answer below the answer itself. */
static bool calendar_boilerplate(struct line t)
{
    static const char *const lines[] = {"Join with Google Meet",
                                        "Join Google Meet",
                                        "Join by phone",
                                        "Join Zoom Meeting",
                                        "Join on your computer",
                                        "Join the meeting now",
                                        "Click here to join the meeting",
                                        "Microsoft Teams meeting",
                                        "Microsoft Teams Need help",
                                        "Meeting ID:",
                                        "View all guest info",
                                        "Reply for ",
                                        "Forwarding this invitation",
                                        "Learn more about Meet",
                                        "More phone numbers",
                                        "Invitation from Google Calendar",
                                        NULL};
    return starts_any(t, lines);
}

/* A line of dashes or underscores that sets a block apart. */
static bool rule_line(struct line t)
{
    t = trim(t);
    return t.n >= RULE_LEN_MIN && (strspn(t.p, "_") >= t.n || strspn(t.p, "-") >= t.n);
}

/* Where what follows the text starts in [from, cut): a disclaimer, a list
 * footer or a calendar's boilerplate starting a paragraph (or below a rule,
 * then with the rule) below some text; or cut. */
static size_t boilerplate_start(const struct line *L, size_t from, size_t cut)
{
    bool text = false;
    for (size_t i = from; i < cut; i++) {
        struct line t = trim(L[i]);
        if (t.n == 0)
            continue;
        bool rule = rule_line(t);
        if (text && !rule && (trim(L[i - 1]).n == 0 || rule_line(L[i - 1]))) {
            /* "Invitation from Google Calendar" ending the answer is its text. */
            if (disclaimer(t) || list_footer(t) ||
                (calendar_boilerplate(t) && has_text(L, i + 1, cut)))
                return rule_line(L[i - 1]) ? i - 1 : i;
        }
        text = text || !rule;
    }
    return cut;
}

/* Joins lines [from, to) with '\n', leaving out quoted lines when asked,
 * blank runs squeezed to one and blank lines trimmed at both ends. */
static char *join_lines(struct arena *a, const struct line *L, size_t from, size_t to,
                        bool drop_quoted)
{
    size_t total = 0;
    for (size_t i = from; i < to; i++)
        total += L[i].n + 1;
    char *o = arena_alloc(a, total + 1);
    size_t k = 0;
    bool blank_pending = false;
    for (size_t i = from; i < to; i++) {
        if (drop_quoted && is_quoted(L[i]))
            continue;
        struct line t = trim(L[i]);
        if (t.n == 0) {
            blank_pending = k > 0;
            continue;
        }
        if (k)
            o[k++] = '\n';
        if (blank_pending)
            o[k++] = '\n';
        blank_pending = false;
        struct line r = L[i]; /* keep indentation, drop trailing blanks */
        while (r.n && blank((unsigned char)r.p[r.n - 1]))
            r.n--;
        memcpy(o + k, r.p, r.n);
        k += r.n;
    }
    o[k] = '\0';
    return o;
}

/* The signature of lines [from, cut): sets *end (where the new text ends) and
 * the signature's lines [*sig_from, *sig_to); false when there is none. */
static bool find_signature(const struct line *L, size_t from, size_t cut, size_t *end,
                           size_t *sig_from, size_t *sig_to)
{
    *end = cut;
    /* A "-- " line: the last one before the quoted history. */
    for (size_t i = cut; i-- > from;) {
        struct line t = L[i];
        while (t.n && blank((unsigned char)t.p[t.n - 1]))
            t.n--;
        if (t.n == 2 && t.p[0] == '-' && t.p[1] == '-') {
            *end = i;
            *sig_from = i + 1;
            *sig_to = cut;
            break;
        }
    }
    if (*end != cut)
        return true;
    /* A sign-off followed by a block of lines that are no sentences (name,
     * title, company, phone), the last such sign-off before the quoted history.
     * The sign-off and the name (on its line or the next) are the text,
     * the block is the signature. What follows the block after a blank line
     * (a legal disclaimer, an advertisement) is neither. */
    for (size_t i = cut; i-- > from;) {
        if (is_quoted(L[i]))
            return false;
        struct line t = trim(L[i]);
        /* A greeting ("Thanks Anna,") is no sign-off: some text is above it. */
        enum signoff_kind so = t.n && has_text(L, from, i) ? signoff(t) : SO_NONE;
        if (so == SO_NONE)
            continue;
        size_t j = i + 1;
        while (j < cut && trim(L[j]).n == 0)
            j++;
        if (j == cut)
            return false;
        bool name = so == SO_LINE && signed_name(trim(L[j]));
        size_t start = j;
        while (j < cut && trim(L[j]).n != 0 && (name || !sentence_like(trim(L[j]))))
            j++;
        if (j < cut && trim(L[j]).n != 0)
            break; /* no signature block: maybe a name block below */
        *end = name ? start + 1 : i + 1;
        *sig_from = start;
        *sig_to = j;
        return true;
    }
    /* No sign-off: a name on a line of its own (after a blank line or a
     * closing such as "Have a lovely weekend,"), followed by lines that are
     * no sentences (title, company, address, phone) up to the end. */
    size_t name_at = cut;
    bool title = false; /* a line below that is not a name (nor a list of names) */
    for (size_t i = cut; i-- > from + 1;) {
        struct line t = trim(L[i]);
        if (t.n == 0)
            continue;
        if (t.p[0] == '>' || sentence_like(t))
            break;
        struct line prev = trim(L[i - 1]);
        bool name = name_like(t);
        if (title && name && (prev.n == 0 || prev.p[prev.n - 1] == ','))
            name_at = i;
        title = title || !name || org_word(t);
    }
    if (name_at == cut)
        return false;
    *end = name_at + 1;
    *sig_from = name_at;
    *sig_to = cut;
    return true;
}

void reply_split(struct arena *a, const char *text, struct reply *out)
{
    size_t len = strlen(text), n = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))) != NULL; p++)
        n++;
    struct line *L = arena_alloc(a, n * sizeof(*L));
    size_t nl = 0;
    const char *p = text, *end = text + len;
    while (p <= end && nl < n) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        L[nl].p = p;
        L[nl].n = (size_t)(e - p);
        nl++;
        p = e + 1;
    }
    enum quote_kind kind;
    size_t hlen, from = 0;
    size_t cut = quote_start(L, 0, nl, &kind, &hlen);
    out->quote_at = cut < nl ? (size_t)(L[cut].p - text) : len;
    /* Written below the quote (bottom-posting): nothing above the
     * attribution but quoted lines, so the new text is what follows it. */
    if (kind == Q_ATTRIBUTION && !has_text(L, 0, cut)) {
        from = cut + hlen;
        cut = quote_start(L, from, nl, &kind, &hlen);
    }
    /* "Sent from my iPhone" (after a blank line): nothing after it is the
     * sender's text. It says which app sent the mail, not who wrote it, so
     * it is not the signature either. */
    for (size_t i = from; i < cut; i++)
        if ((i == from || trim(L[i - 1]).n == 0) && mobile_line(trim(L[i]))) {
            cut = i;
            break;
        }
    /* A quoted block at the end (an HTML quote, an attribution quoted by
     * the client) is not part of what is signed. */
    while (cut > from && (trim(L[cut - 1]).n == 0 || is_quoted(L[cut - 1])))
        cut--;
    /* A disclaimer, a list footer or an invitation's boilerplate ends it. */
    cut = boilerplate_start(L, from, cut);
    while (cut > from && (trim(L[cut - 1]).n == 0 || is_quoted(L[cut - 1])))
        cut--;
    size_t body_end, sig_from = 0, sig_to = 0;
    bool sig = find_signature(L, from, cut, &body_end, &sig_from, &sig_to);
    out->text = join_lines(a, L, from, body_end, true);
    out->signature = NULL;
    if (sig) {
        char *s = join_lines(a, L, sig_from, sig_to, false);
        out->signature = *s ? s : NULL;
    }
}
