/*
 * The offline drafter (DESIGN.md §6 "Hot lead -> draft"): a follow-up email
 * from fixed templates filled with what the CRM knows about the contact:
 * first name, company, role, and the topic of the newest email (pricing,
 * meeting, complaint, feature request, question, follow-up). Deterministic:
 * the same contact always gets the same draft. The body is padded with
 * general paragraphs until it has DRAFT_WORDS_MIN words; the inserted
 * fields are capped in words, so it never passes DRAFT_WORDS_MAX.
 */
#include <stdbool.h>
#include <string.h>

#include "ai/ai.h"
#include "base/buf.h"

enum {
    FIELD_WORDS = 6,  /* words of a company, title or name inserted */
    FIELD_BYTES = 60, /* bytes of the same */
    TOPIC_WORDS = 8,  /* words of the last subject quoted */
    TOPIC_BYTES = 80,
    BODY_BUF = 8192, /* the longest body the templates can make, with room */
};

/* What the newest email was about, in order of precedence. */
enum topic { T_COMPLAINT, T_PRICING, T_MEETING, T_FEATURE, T_QUESTION, T_FOLLOW_UP, T_COUNT };

struct subject_tpl {
    const char *named; /* uses {F} */
    const char *plain; /* when the first name is unknown */
};

struct topic_tpl {
    struct subject_tpl subjects[DRAFT_SUBJECTS];
    const char *paragraph;
    const char *cta;
};

/*
 * {F} first name, {C} company, {T} job title. Each paragraph is 40-60
 * words before the fields are filled in; the fields add at most
 * FIELD_WORDS each.
 */
static const struct topic_tpl topics[T_COUNT] = {
    [T_COMPLAINT] = {{{"Our apologies, {F}", "Our apologies"},
                      {"Making this right for {C}", NULL},
                      {"What we are doing about your issue", NULL}},
                     "I am sorry for the trouble you described. That is not the experience we "
                     "want {C} to have, and I have asked our support lead to look into it "
                     "personally today. I would rather hear the details from you directly than "
                     "guess, so that we fix the cause and not only the symptom.",
                     "Could you reply with a good time for a short call, so that I can hear what "
                     "happened and agree on a fix with you?"},
    [T_PRICING] = {{{"Pricing for {C}", NULL},
                    {"{F}, the numbers you asked for", "The numbers you asked for"},
                    {"A plan that fits {C}", NULL}},
                   "You asked about pricing, so here is the short version. Our plans are priced "
                   "per seat, with volume discounts from twenty seats and a further saving for "
                   "annual billing. For {C}, I can put together a written quote that covers "
                   "onboarding, support and the integrations you need, so that there are no "
                   "surprises later.",
                   "Reply with the number of seats you expect and I will send a tailored quote "
                   "within one business day."},
    [T_MEETING] = {{{"Times for our call, {F}", "Times for our call"},
                    {"Meeting with {C} this week", NULL},
                    {"Next steps for {C}", NULL}},
                   "You mentioned that you would like to meet, and I would be glad to. I can "
                   "offer Tuesday at 10:00, Wednesday at 14:00 or Thursday at 16:00, your time, "
                   "for thirty minutes by video. I will shape the session around how {C} works "
                   "today and bring a short demonstration of the workflows you care about most.",
                   "Pick one of these times, or send me another that suits you better, and I "
                   "will send the invitation."},
    [T_FEATURE] = {{{"Your feature request, {F}", "Your feature request"},
                    {"What is coming for {C}", NULL},
                    {"Ideas from {C} on our roadmap", NULL}},
                   "Thank you for the feature suggestion. Requests like yours shape our roadmap "
                   "directly, and I have shared it with our product team together with the "
                   "context from {C}. Other customers asked for something similar, so there may "
                   "already be a workaround I can show you while the full feature is on its way.",
                   "Would you reply with how your team would use it, so that our product team "
                   "can design it around real work?"},
    [T_QUESTION] = {{{"Answers for {C}", NULL},
                     {"{F}, about your question", "About your question"},
                     {"A quick answer for {C}", NULL}},
                    "You asked a good question, and rather than send a generic answer I would "
                    "like to make sure it fits how {C} works. The short answer is yes: most "
                    "teams set this up in an afternoon, and our support team helps with the "
                    "first import and the first rules at no extra cost.",
                    "Reply with a few details of your setup and I will send a complete answer, "
                    "or book fifteen minutes and I will walk you through it."},
    [T_FOLLOW_UP] = {{{"Following up, {F}", "Following up"},
                      {"Next steps for {C}", NULL},
                      {"An idea for {C}", NULL}},
                     "I wanted to follow up on our last conversation and see how things are "
                     "going at {C}. Many teams we work with start small, with one shared inbox "
                     "and a handful of promising leads, and grow from there once they see which "
                     "conversations deserve their attention first.",
                     "Would a short call next week be useful, to see whether this could help "
                     "your team?"},
};

/* General paragraphs, added in order until the body is long enough. */
static const char *const fillers[] = {
    "Every inbound email is read and scored as it arrives, so the conversations that matter "
    "most rise to the top of the list instead of waiting in a shared inbox.",
    "Drafts like this one are always reviewed by a person before anything is sent, so your team "
    "keeps full control over every message that goes out.",
    "Setup takes about an hour: connect a mailbox, import your history, and the first scores "
    "are ready the same day.",
    "Your data stays in the workspace you control, and you can export all of it at any time.",
    "If it helps, I can also share how a team of a similar size organised its first month.",
};

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t ai_word_count(const char *text)
{
    size_t n = 0;
    bool in_word = false;
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++) {
        if (is_space(*p)) {
            in_word = false;
        } else if (!in_word) {
            in_word = true;
            n++;
        }
    }
    return n;
}

/*
 * Copies s with white space folded to single spaces and control characters
 * dropped, at most max_words words and max_bytes bytes (cut at a UTF-8
 * character boundary), into arena memory. "" for NULL.
 */
static const char *clean_field(const char *s, size_t max_words, size_t max_bytes, struct arena *a)
{
    char *out = arena_alloc(a, max_bytes + 1);
    size_t j = 0, words = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (is_space(*p)) {
            space = j > 0;
            continue;
        }
        if (*p < 0x20 || *p == 0x7f)
            continue;
        if (space || j == 0) {
            if (words == max_words)
                break;
            words++;
        }
        if (space) {
            if (j + 1 >= max_bytes)
                break;
            out[j++] = ' ';
            space = false;
        }
        if (j >= max_bytes)
            break;
        out[j++] = (char)*p;
    }
    /* A cut multi-byte character: drop its continuation bytes and its lead. */
    size_t k = j;
    while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
        k--;
    if (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0xc0) {
        unsigned char lead = (unsigned char)out[k - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (j - (k - 1) < need)
            j = k - 1;
    }
    while (j > 0 && out[j - 1] == ' ')
        j--;
    out[j] = '\0';
    return out;
}

static enum topic topic_of(const struct draft_input *in)
{
    unsigned bits = in->nemails ? in->emails[0].intents : 0;
    if (bits & INTENT_COMPLAINT)
        return T_COMPLAINT;
    if (bits & INTENT_PRICING_INQUIRY)
        return T_PRICING;
    if (bits & INTENT_MEETING_REQUEST)
        return T_MEETING;
    if (bits & INTENT_FEATURE_REQUEST)
        return T_FEATURE;
    if (bits & INTENT_QUESTION)
        return T_QUESTION;
    return T_FOLLOW_UP;
}

struct fields {
    const char *first;   /* "" when unknown */
    const char *company; /* never "" */
    const char *title;   /* "" when unknown */
    const char *topic;   /* the newest subject, "" when none */
};

/* Appends tpl with {F}, {C} and {T} filled in. */
static void fill(struct buf *b, const char *tpl, const struct fields *f)
{
    for (const char *p = tpl; *p; p++) {
        if (p[0] == '{' && p[1] && p[2] == '}') {
            const char *v = p[1] == 'F' ? f->first : p[1] == 'C' ? f->company : f->title;
            buf_puts(b, v);
            p += 2;
            continue;
        }
        buf_putc(b, *p);
    }
}

static const char *filled(const char *tpl, const struct fields *f, struct arena *a)
{
    struct buf b;
    buf_init(&b, BODY_BUF);
    fill(&b, tpl, f);
    const char *s = arena_strdup(a, buf_str(&b));
    buf_release(&b);
    return s;
}

/* The opening: the greeting, a thank-you that names the last subject, the role. */
static void opening(struct buf *b, const struct fields *f)
{
    buf_printf(b, "Hi %s,\n\n", *f->first ? f->first : "there");
    if (*f->topic)
        buf_printf(b, "Thank you for your message about \"%s\". ", f->topic);
    else
        buf_puts(b, "Thank you for your interest in working with us. ");
    if (*f->title)
        buf_printf(b, "As %s at %s, ", f->title, f->company);
    else
        buf_printf(b, "At %s, ", f->company);
    buf_puts(b, "you know how much depends on answering the right people at the right time, "
                "so I will keep this short.\n\n");
}

void ai_offline_draft(const struct draft_input *in, struct arena *a, struct draft *out)
{
    struct fields f;
    f.first = clean_field(in->name, 1, FIELD_BYTES, a);
    f.company = clean_field(in->company, FIELD_WORDS, FIELD_BYTES, a);
    if (!*f.company)
        f.company = "your company";
    f.title = clean_field(in->job_title, FIELD_WORDS, FIELD_BYTES, a);
    f.topic = clean_field(in->nemails ? in->emails[0].subject : NULL, TOPIC_WORDS, TOPIC_BYTES, a);
    /* A quotation mark in the subject would close the quote around it. */
    for (char *p = (char *)f.topic; *p; p++)
        if (*p == '"')
            *p = '\'';

    const struct topic_tpl *t = &topics[topic_of(in)];
    for (int i = 0; i < DRAFT_SUBJECTS; i++) {
        const struct subject_tpl *s = &t->subjects[i];
        out->subjects[i] = filled(!*f.first && s->plain ? s->plain : s->named, &f, a);
    }
    out->call_to_action = filled(t->cta, &f, a);

    struct buf body, closing;
    buf_init(&body, BODY_BUF);
    buf_init(&closing, BODY_BUF);
    opening(&body, &f);
    fill(&body, t->paragraph, &f);
    buf_puts(&body, "\n\n");
    fill(&closing, t->cta, &f);
    buf_puts(&closing, "\n\nBest regards");
    size_t closing_words = ai_word_count(buf_str(&closing));
    for (size_t i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++) {
        if (ai_word_count(buf_str(&body)) + closing_words >= DRAFT_WORDS_MIN)
            break;
        buf_puts(&body, fillers[i]);
        buf_puts(&body, "\n\n");
    }
    buf_puts(&body, buf_str(&closing));
    out->body = arena_strdup(a, buf_str(&body));
    out->provider = "offline";
    buf_release(&closing);
    buf_release(&body);
}
