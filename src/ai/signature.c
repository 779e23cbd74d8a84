/*
 * Reads a job title and a company from an email signature block. The block
 * is looked at line by line: the delimiter ("-- "), sign-offs, the sender's
 * name, phone, web, email and street-address lines are skipped; the first
 * line holding a title word is the title ("Head of Sales | Acme GmbH" also
 * gives the company); else the company is the line after the title, else
 * the sender's email domain when it is not a freemail domain.
 */
#include <ctype.h>
#include <string.h>

#include "ai/ai.h"
#include "base/str.h"

enum {
    LINES_MAX = 12, /* non-empty lines looked at */
    LINE_MAX = 120, /* longer lines are prose, not a signature */
};

/* Words that make a line a job title (compared case-insensitively). */
static const char *const title_words[] = {
    "ceo",
    "cto",
    "cfo",
    "coo",
    "cmo",
    "cio",
    "ciso",
    "cro",
    "cpo",
    "chief",
    "founder",
    "co-founder",
    "cofounder",
    "owner",
    "president",
    "vp",
    "svp",
    "evp",
    "vice",
    "director",
    "head",
    "manager",
    "lead",
    "engineer",
    "consultant",
    "specialist",
    "analyst",
    "coordinator",
    "officer",
    "partner",
    "executive",
    "assistant",
    "associate",
    "administrator",
    "architect",
    "developer",
    "designer",
    "counsel",
    "attorney",
    "accountant",
    "controller",
    "treasurer",
    "secretary",
    "principal",
    "advisor",
    "adviser",
    "strategist",
    "recruiter",
    "supervisor",
    "professor",
    "lecturer",
    "chairman",
    "chairwoman",
    "chair",
    "intern",
    "representative",
    "buyer",
    "directeur",
    "directrice",
    "gerente",
    "geschäftsführer",
    "leiter",
    "leiterin",
    "responsable",
    "md",
    "gm",
};

/* Sign-off words: a short line made of them (and a comma) is not a name. */
static const char *const signoff_words[] = {
    "best", "regards", "kind",      "warm",      "warmest",      "thanks",       "thank",
    "you",  "cheers",  "sincerely", "yours",     "faithfully",   "truly",        "many",
    "with", "all",     "the",       "wishes",    "respectfully", "thx",          "greetings",
    "talk", "soon",    "speak",     "cordially", "mit",          "freundlichen", "grüßen",
};

/* Freemail domains: the address says nothing about the company. */
static const char *const freemail[] = {
    "gmail",  "googlemail", "yahoo",    "ymail",   "outlook", "hotmail",    "live",
    "msn",    "icloud",     "me",       "mac",     "proton",  "protonmail", "pm",
    "gmx",    "aol",        "mail",     "yandex",  "zoho",    "fastmail",   "tutanota",
    "web",    "qq",         "163",      "126",     "naver",   "rediffmail", "libero",
    "orange", "free",       "t-online", "comcast",
};

/* Regions that end a title ("Sales Director, EMEA") rather than name a company. */
static const char *const regions[] = {
    "emea",          "apac",      "latam",         "dach",          "nordics",     "benelux",
    "americas",      "europe",    "asia",          "africa",        "uk",          "us",
    "usa",           "na",        "north america", "south america", "middle east", "global",
    "international", "worldwide",
};

/* Street-address words. */
static const char *const street_words[] = {
    "street", "st",        "road", "rd",    "avenue",   "ave",    "suite",  "floor",
    "blvd",   "boulevard", "lane", "way",   "plaza",    "square", "straße", "strasse",
    "str",    "rue",       "via",  "calle", "building", "po",     "box",    "drive",
};

static bool in_list(const char *const *list, size_t n, const char *w, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], w, len) == 0)
            return true;
    return false;
}

#define IN_LIST(list, w, len) in_list(list, sizeof(list) / sizeof(list[0]), w, len)

static bool is_word_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '\'' || c >= 0x80;
}

/* Calls f on each word of [p, p+n); stops and returns true when f does. */
static bool any_word(const char *p, size_t n, bool (*f)(const char *, size_t))
{
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_word_char((unsigned char)p[i]))
            i++;
        size_t b = i;
        while (i < n && is_word_char((unsigned char)p[i]))
            i++;
        if (i > b && f(p + b, i - b))
            return true;
    }
    return false;
}

static bool is_title_word(const char *w, size_t n)
{
    return IN_LIST(title_words, w, n);
}

static bool has_title_word(struct str s)
{
    return any_word(s.p, s.len, is_title_word);
}

static bool is_not_signoff_word(const char *w, size_t n)
{
    return !IN_LIST(signoff_words, w, n);
}

static bool is_street_word(const char *w, size_t n)
{
    return IN_LIST(street_words, w, n);
}

static struct str trim(struct str s)
{
    while (s.len && isspace((unsigned char)s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && (isspace((unsigned char)s.p[s.len - 1]) || s.p[s.len - 1] == ',' ||
                     s.p[s.len - 1] == '|' || s.p[s.len - 1] == ';'))
        s.len--;
    return s;
}

static bool contains_nocase(struct str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n && i + n <= s.len; i++)
        if (strncasecmp(s.p + i, needle, n) == 0)
            return true;
    return false;
}

static bool is_signoff(struct str s)
{
    return s.len < 40 && !any_word(s.p, s.len, is_not_signoff_word);
}

/* Phone, fax, web or email lines. */
static bool is_contact_line(struct str s)
{
    size_t digits = 0;
    for (size_t i = 0; i < s.len; i++)
        digits += isdigit((unsigned char)s.p[i]) != 0;
    if (digits >= 7 && digits * 3 >= s.len)
        return true;
    static const char *const marks[] = {"http://", "https://", "www.", "@",        "tel:",
                                        "phone:",  "mobile:",  "fax:", "linkedin", "skype"};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (contains_nocase(s, marks[i]))
            return true;
    /* A bare domain: one word with a dot inside, like "acme.io". */
    bool space = memchr(s.p, ' ', s.len) != NULL;
    const char *dot = memchr(s.p, '.', s.len);
    return !space && dot && dot > s.p && dot + 2 < s.p + s.len;
}

static bool is_address_line(struct str s)
{
    bool digit = false;
    for (size_t i = 0; i < s.len; i++)
        digit |= isdigit((unsigned char)s.p[i]) != 0;
    return digit && any_word(s.p, s.len, is_street_word);
}

/* The sender's name, or a line that looks like one: two to four capitalized words. */
static bool is_name_line(struct str s, const char *from_name)
{
    struct str name = trim(str_from(from_name));
    if (name.len && s.len == name.len && strncasecmp(s.p, name.p, name.len) == 0)
        return true;
    if (has_title_word(s))
        return false;
    int words = 0;
    bool start = true;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == ' ') {
            start = true;
            continue;
        }
        if (isdigit(c) || c == '|' || c == ',' || c == '@')
            return false;
        if (start) {
            if (!(isupper(c) || c >= 0x80))
                return false;
            words++;
            start = false;
        }
    }
    return words >= 2 && words <= 4;
}

/*
 * Splits a title line at the first separator whose left part holds a title
 * word: " | ", ", ", " at ", " @ ", " - ", " – ". Returns false when there is
 * no such separator.
 */
static bool split_title(struct str s, struct str *title, struct str *company)
{
    static const char *const seps[] = {
        " | ", "|", ", ", " at ", " @ ", " - ", " \xe2\x80\x93 ", " \xe2\x80\x94 ", " / "};
    size_t best = s.len, best_len = 0;
    for (size_t k = 0; k < sizeof(seps) / sizeof(seps[0]); k++) {
        size_t n = strlen(seps[k]);
        for (size_t i = 1; i + n < s.len; i++) {
            if (strncasecmp(s.p + i, seps[k], n) != 0)
                continue;
            struct str left = {s.p, i}, right = {s.p + i + n, s.len - i - n};
            /* "VP of Sales, EMEA" or "Founder & CEO, Acme": the right part
             * must not be more title. */
            struct str r = trim(right);
            if (has_title_word(left) && !has_title_word(right) &&
                !in_list(regions, sizeof(regions) / sizeof(regions[0]), r.p, r.len) && i < best) {
                best = i;
                best_len = n;
            }
            break;
        }
    }
    if (best == s.len)
        return false;
    *title = trim((struct str){s.p, best});
    struct str rest = trim((struct str){s.p + best + best_len, s.len - best - best_len});
    /* "CTO | Initech | Berlin": the company ends at the next separator. */
    for (size_t i = 0; i < rest.len; i++)
        if (rest.p[i] == '|') {
            rest.len = i;
            break;
        }
    *company = trim(rest);
    return true;
}

/* The company from the address's domain: "jane@mail.acme-corp.co.uk" gives
 * "Acme Corp" (the label before the public suffix, '-' and '_' as spaces,
 * each word capitalized); nothing for freemail domains. */
static void company_from_email(const char *email, char *out, size_t size)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at || !at[1])
        return;
    const char *labels[8];
    size_t lens[8], n = 0;
    for (const char *p = at + 1; *p && n < 8;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        labels[n] = p;
        lens[n++] = len;
        p += len + (dot ? 1 : 0);
    }
    if (n < 2)
        return;
    size_t i = n - 2;
    /* Two-part suffixes such as co.uk, com.au, org.br. */
    static const char *const second[] = {"co", "com", "org", "net", "ac", "gov", "edu", "ltd"};
    if (n >= 3 && lens[n - 1] == 2 && IN_LIST(second, labels[n - 2], lens[n - 2]))
        i = n - 3;
    if (!lens[i] || IN_LIST(freemail, labels[i], lens[i]))
        return;
    size_t o = 0;
    bool start = true;
    for (size_t k = 0; k < lens[i] && o + 1 < size; k++) {
        char c = labels[i][k];
        if (c == '-' || c == '_') {
            out[o++] = ' ';
            start = true;
            continue;
        }
        out[o++] = start ? (char)toupper((unsigned char)c) : c;
        start = false;
    }
    out[o] = '\0';
}

void signature_extract(const char *signature, const char *from_name, const char *from_email,
                       char *title, size_t title_size, char *company, size_t company_size)
{
    title[0] = '\0';
    company[0] = '\0';
    struct str rest = str_from(signature), line;
    struct str found = {NULL, 0}, comp = {NULL, 0};
    bool after_title = false;
    int seen = 0;
    while (rest.len && seen < LINES_MAX) {
        str_split(&rest, '\n', &line);
        line = trim(line);
        if (!line.len || line.len > LINE_MAX || str_eq_cstr(line, "--") ||
            str_eq_cstr(line, "-- ") || str_eq_cstr(line, "__"))
            continue;
        seen++;
        if (is_contact_line(line) || is_address_line(line))
            continue;
        if (after_title) {
            /* The line after a bare title names the company ("Acme Corp"
             * may look like a person's name, but the name came first). */
            if (!is_signoff(line) && !has_title_word(line))
                comp = line;
            break;
        }
        if (is_signoff(line))
            continue;
        /* "Jane Doe, CEO" or "Jane Doe | CEO | Acme": drop the name. */
        struct str name = trim(str_from(from_name));
        if (name.len && line.len > name.len && strncasecmp(line.p, name.p, name.len) == 0 &&
            !is_word_char((unsigned char)line.p[name.len])) {
            line = (struct str){line.p + name.len, line.len - name.len};
            for (;;) {
                if (line.len && strchr(" ,|-", line.p[0]))
                    line = (struct str){line.p + 1, line.len - 1};
                else if (str_starts_with(line, "\xe2\x80\x93") ||
                         str_starts_with(line, "\xe2\x80\x94"))
                    line = (struct str){line.p + 3, line.len - 3}; /* en and em dashes */
                else
                    break;
            }
        }
        /* "Tariq Lopez | Director of Operations" when the display name is
         * written otherwise ("Lopez, Tariq"): a leading part that reads as a
         * person's name is dropped too. */
        static const char *const name_seps[] = {" | ", " - ", ", "};
        for (size_t k = 0; k < sizeof(name_seps) / sizeof(name_seps[0]); k++) {
            const char *sep = memmem(line.p, line.len, name_seps[k], strlen(name_seps[k]));
            if (!sep)
                continue;
            struct str left = trim((struct str){line.p, (size_t)(sep - line.p)});
            size_t skip = (size_t)(sep - line.p) + strlen(name_seps[k]);
            struct str right = trim((struct str){line.p + skip, line.len - skip});
            if (right.len && has_title_word(right) && is_name_line(left, from_name))
                line = right;
            break;
        }
        if (is_name_line(line, from_name) || !has_title_word(line))
            continue; /* the name, or a line we cannot read */
        struct str t, c;
        if (split_title(line, &t, &c)) {
            found = t;
            comp = c;
            break;
        }
        found = line;
        after_title = true;
    }
    if (found.len)
        str_copy(title, title_size, found);
    if (comp.len)
        str_copy(company, company_size, comp);
    else
        company_from_email(from_email, company, company_size);
}
