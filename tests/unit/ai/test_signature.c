/*
 * Tests for src/ai/signature.c: titles and companies read from realistic
 * signature blocks, the email-domain fallback, and odd or empty input.
 */
#include "ai/ai.h"
#include "unit/unit.h"

struct sig_case {
    const char *signature, *from_name, *from_email;
    const char *title, *company;
};

static const struct sig_case cases[] = {
    /* 1. Delimiter, name, "Title | Company", phone. */
    {"-- \nPriya Nair\nHead of Procurement | Acme GmbH\n+49 30 1234567\n", "Priya Nair",
     "priya@acme.de", "Head of Procurement", "Acme GmbH"},
    /* 2. Sign-off, name, "Title, Company". */
    {"Best regards,\nMichael Turner\nCEO, Turner & Sons Construction\n", "Michael Turner",
     "m.turner@turnerandsons.com", "CEO", "Turner & Sons Construction"},
    /* 3. "Title at Company". */
    {"Thanks,\nJess\nVP of Sales at Initech\nwww.initech.com", "Jess Moore", "jess@initech.com",
     "VP of Sales", "Initech"},
    /* 4. "Title - Company". */
    {"Cheers,\nDiego Fernández\nHead of Growth - Tallo\n", "Diego Fernández", "diego@tallo.io",
     "Head of Growth", "Tallo"},
    /* 5. Title line, company on the next line, then address and phone. */
    {"Kind regards,\n\nWolfgang Kessler\nHead of Procurement\nKessler Maschinenbau GmbH\n"
     "Industriestraße 12, 70565 Stuttgart\nTel: +49 711 555 0192\n",
     "Wolfgang Kessler", "w.kessler@kessler-maschinenbau.de", "Head of Procurement",
     "Kessler Maschinenbau GmbH"},
    /* 6. Title without company: the company comes from the domain. */
    {"Regards,\nGrace Chen\nSales Manager\n(416) 555-0143\n", "Grace Chen",
     "grace@northpeak-realty.com", "Sales Manager", "Northpeak Realty"},
    /* 7. Freemail and no title: nothing. */
    {"Thanks!\nChloe\nSent from my iPhone", "Chloe", "chloe.b@gmail.com", "", ""},
    /* 8. No title, a company domain with a two-part suffix. */
    {"Simran Kaur\n020 7946 0011", "Simran Kaur", "s.kaur@westbridge.co.uk", "", "Westbridge"},
    /* 9. A name line with the title after a comma. */
    {"--\nAnders Holm, CTO\nHolm Logistics\n", "Anders Holm", "anders@holm.se", "CTO",
     "Holm Logistics"},
    /* 10. Name, title, company on one line with pipes. */
    {"Sara Lindqvist | COO | Nordhavn Foods | Oslo\n", "Sara Lindqvist", "sara@nordhavn.no", "COO",
     "Nordhavn Foods"},
    /* 11. "Co-founder & CEO" with an en dash to the company. */
    {"Best,\nTom Berg\nCo-founder & CEO \xe2\x80\x93 Loomly\nhttps://loomly.example\n", "Tom Berg",
     "tom@loomly.example", "Co-founder & CEO", "Loomly"},
    /* 12. A title that mentions a region stays whole. */
    {"Regards,\nAhmet Yılmaz\nExport Manager, EMEA\nDelta Components\n", "Ahmet Yılmaz",
     "ahmet@delta-components.pl", "Export Manager, EMEA", "Delta Components"},
    /* 13. Name not given: a person-like line is skipped. */
    {"Sincerely,\nJean-Luc Moreau\nDirecteur Commercial\nVinotec SA\n", NULL, "jl@vinotec.fr",
     "Directeur Commercial", "Vinotec SA"},
    /* 14. An email line and a LinkedIn line are skipped. */
    {"Nicole Ward\nChief Information Security Officer\nnicole.ward@pellucid.health\n"
     "linkedin.com/in/nicoleward\nPellucid Health",
     "Nicole Ward", "nicole.ward@pellucid.health", "Chief Information Security Officer",
     "Pellucid Health"},
    /* 15. Owner at a small business, Outlook address: no domain fallback. */
    {"Thank you,\nRichard Ng\nOwner, Ng Trading\n", "Richard Ng", "richardng@outlook.com", "Owner",
     "Ng Trading"},
    /* 16. A department line without a title word: company from the domain. */
    {"Regards,\nAccounts Payable\n", "Accounts Payable", "ap@corrib-analytics.ie", "",
     "Corrib Analytics"},
    /* 17. Managing Partner with a phone on the same block. */
    {"Best regards,\nChinedu Okeke\nManaging Partner\nOkeke Consulting Ltd\nM: +234 803 555 0199",
     "Chinedu Okeke", "chinedu@yahoo.com", "Managing Partner", "Okeke Consulting Ltd"},
    /* 18. The title line comes first, the name is absent. */
    {"Data Protection Officer\nKowalska Legal\n", "Marta Kowalska", "marta@kowalska.pl",
     "Data Protection Officer", "Kowalska Legal"},
    /* 19. Street address between the title and the company is skipped. */
    {"Elena Popescu\nChief Operating Officer\n45 Harbour Street, Dublin 2\nMedica Group\n",
     "Elena Popescu", "elena@medica.example", "Chief Operating Officer", "Medica Group"},
    /* The display name is "Last, First"; the signature writes it the other way. */
    {"Cheers,\nTariq Lopez | Director of Operations\nFairhaven Shipping Ltd\nm: +49 30 90182033\n",
     "Lopez, Tariq", "tlopez@fairhaven-shipping.example", "Director of Operations",
     "Fairhaven Shipping Ltd"},
};

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct sig_case *c = &cases[i];
        char title[128], company[128];
        memset(title, 'x', sizeof(title));
        memset(company, 'x', sizeof(company));
        signature_extract(c->signature, c->from_name, c->from_email, title, sizeof(title), company,
                          sizeof(company));
        if (strcmp(title, c->title) != 0 || strcmp(company, c->company) != 0)
            fail_msg("case %zu: got title \"%s\" company \"%s\", want \"%s\" and \"%s\"", i + 1,
                     title, company, c->title, c->company);
    }
}

static void test_empty(void **state)
{
    char title[64] = "junk", company[64] = "junk";
    signature_extract("", NULL, NULL, title, sizeof(title), company, sizeof(company));
    assert_string_equal(title, "");
    assert_string_equal(company, "");
    signature_extract("-- \n\n\n", "", "not-an-address", title, sizeof(title), company,
                      sizeof(company));
    assert_string_equal(title, "");
    assert_string_equal(company, "");
    signature_extract("", NULL, "x@", title, sizeof(title), company, sizeof(company));
    assert_string_equal(company, "");
}

static void test_truncates(void **state)
{
    char title[8], company[6];
    signature_extract("Jane Roe\nVice President of Engineering | Globex Corporation", "Jane Roe",
                      "jane@globex.com", title, sizeof(title), company, sizeof(company));
    assert_string_equal(title, "Vice Pr");
    assert_string_equal(company, "Globe");
}

static void test_prose_is_not_a_title(void **state)
{
    char title[64], company[64];
    /* A long sentence that happens to hold a title word is prose. */
    signature_extract("I will ask our manager about this and get back to you as soon as I can, "
                      "hopefully before the end of the week when the quarterly numbers are out.",
                      NULL, "bob@hotmail.com", title, sizeof(title), company, sizeof(company));
    assert_string_equal(title, "");
    assert_string_equal(company, "");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cases),
    cmocka_unit_test(test_empty),
    cmocka_unit_test(test_truncates),
    cmocka_unit_test(test_prose_is_not_a_title),
};

UNIT_GROUP(unit_ai_signature, "ai/signature", tests);
