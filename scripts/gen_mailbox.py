#!/usr/bin/env python3
"""Generates a realistic sample mailbox (mbox) for leadflow.

The mailbox belongs to the sales team of "Northwind Analytics", a made-up
company selling a B2B analytics product. Prospects and customers at made-up
companies (domains under .example) write to the team, the team answers, and
they answer back quoting the team: pricing questions, demo requests, contract
talks, how-to questions, feature requests, complaints, follow-ups, one-off
hellos, out-of-office replies and newsletters.

The output is deterministic: the same --count, --seed, --own-address and
--end-date give the same bytes. Python 3 standard library only.

    scripts/gen_mailbox.py --count 360 --seed 7 --out data/demo/sample.mbox
    scripts/gen_mailbox.py --count 100000 --out /tmp/bench.mbox
    scripts/gen_mailbox.py --check FILE   # parse a mailbox back, print a summary
"""

import argparse
import base64
import binascii
import gc
import hashlib
import os
import random
import re
import sys
import time
from datetime import datetime, timezone
from email.header import Header

DAY = 86400
HOUR = 3600
WINDOW_DAYS = 30
TEAM_TZ = -480  # our team works in Seattle

DEFAULT_COUNT = 360
DEFAULT_SEED = 7
DEFAULT_OWN = "sales@northwind-demo.example"
DEFAULT_END = "2026-11-20T17:00:00Z"

OUR_COMPANY = "Northwind Analytics"
PRODUCT = "Northwind"

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS_LONG = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS_LONG = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]

# ---------------------------------------------------------------------------
# People and companies
# ---------------------------------------------------------------------------

FIRST_NAMES = [
    "Maria", "James", "Aisha", "Daniel", "Priyanka", "Tom", "Elena", "Marcus", "Grace", "Kenji",
    "Sofia", "Liam", "Nadia", "Carlos", "Hannah", "Victor", "Mei", "Oliver", "Fatima", "Ethan",
    "Chloe", "Rahul", "Isabel", "Noah", "Yuki", "Samuel", "Leah", "Andre", "Olivia", "Tariq",
    "Emma", "Lucas", "Amara", "Ben", "Julia", "Diego", "Rachel", "Hugo", "Nora", "Felix",
    "Sara", "Adam", "Ingrid", "Kofi", "Laura", "Mateo", "Claire", "Ravi", "Anna", "Jonah",
    "Camille", "Peter", "Zara", "Henrik", "Lucy", "Omari", "Megan", "Arjun", "Rosa", "Patrick",
    "Helen", "Jamal", "Vera", "Simon", "Keiko", "Miguel", "Erin", "Stefan", "Alice", "Dev",
    "Monica", "Gabriel", "Tessa", "Ibrahim", "Kate", "Luca", "Holly", "Wei", "Natalie", "Oscar",
    "Beatriz", "Connor", "Lina", "Raj", "Paula", "Magnus", "Ruth", "Hassan", "Jenna", "Marco",
    "Eva", "Sean", "Leila", "Tobias", "Diana", "Kwame", "Alicia", "Nikolai", "Brooke", "Arun",
    "Fiona", "Mohamed", "Sienna", "Pavel", "Jade", "Emeka", "Carmen", "Rory", "Hana", "Gustavo",
    "Lauren", "Farid", "Eliza", "Kai", "Teresa", "Bruno", "Maya", "Dmitri", "Abby", "Chidi",
]
LAST_NAMES = [
    "Chen", "Okafor", "Rossi", "Patel", "Nguyen", "Schmidt", "Garcia", "Kowalski", "Johansson",
    "Silva", "Thompson", "Yamamoto", "Haddad", "Murphy", "Fischer", "Ibrahim", "Larsen", "Moreau",
    "Kim", "Novak", "Bennett", "Costa", "Singh", "Walsh", "Hoffmann", "Alvarez", "Tanaka", "Byrne",
    "Mensah", "Petrov", "Clarke", "Romano", "Dubois", "Andersen", "Kapoor", "Reyes", "Sato",
    "Brennan", "Weber", "Ortiz", "Lindgren", "Adeyemi", "Marino", "Fraser", "Zhang", "Kaur",
    "Bauer", "Morales", "Ito", "Hughes", "Jansen", "Santos", "Park", "Vogel", "Gallagher", "Rao",
    "Meyer", "Castillo", "Suzuki", "Doyle", "Berg", "Mbeki", "Ferrari", "Nash", "Horvat", "Lopez",
    "Watanabe", "Quinn", "Keller", "Diaz", "Osei", "Ricci", "Holt", "Sokolov", "Fernandes", "Lam",
    "Wagner", "Ramos", "Hayes", "Nakamura", "Koch", "Cruz", "Eriksen", "Bianchi", "Price", "Ali",
    "Hartmann", "Mendes", "Duffy", "Varga", "Ward", "Jovanovic", "Pereira", "Foster", "Yilmaz",
    "Sharma", "Lang", "Ahmed", "Stewart", "Nowak", "Baker", "Ferreira", "Kruger", "Obi", "Vidal",
]
# Names that do not fit in ASCII: their From headers are RFC 2047 words,
# their bodies quoted-printable or 8bit UTF-8.
INTL_NAMES = [
    ("José", "Müller", "jose", "muller"), ("Zoë", "Lindqvist", "zoe", "lindqvist"),
    ("Søren", "Østergaard", "soren", "ostergaard"),
    ("François", "Lefèvre", "francois", "lefevre"),
    ("Łukasz", "Wróbel", "lukasz", "wrobel"), ("Inés", "Peña", "ines", "pena"),
    ("Björn", "Ångström", "bjorn", "angstrom"), ("Chloé", "Dubois", "chloe", "dubois"),
    ("Jürgen", "Weiß", "jurgen", "weiss"), ("Ayşe", "Yılmaz", "ayse", "yilmaz"),
    ("Renée", "O'Connor", "renee", "oconnor"), ("Mónica", "Álvarez", "monica", "alvarez"),
    ("Tomáš", "Dvořák", "tomas", "dvorak"), ("Noémie", "Girard", "noemie", "girard"),
    ("Çağla", "Demir", "cagla", "demir"), ("Ștefan", "Popescu", "stefan", "popescu"),
    ("Håkon", "Nygård", "hakon", "nygard"), ("Élodie", "Faure", "elodie", "faure"),
]

COMPANY_PREFIXES = [
    "Brightwater", "Cedar Ridge", "Bluepeak", "Ironwood", "Silverline", "Harborview", "Northgate",
    "Redstone", "Summitline", "Clearfield", "Oakhurst", "Meridian", "Stonebridge", "Larkspur",
    "Westbrook", "Pinecrest", "Copperleaf", "Riverbend", "Highmark", "Granite Bay", "Foxglove",
    "Evergreen", "Tidewater", "Blackthorn", "Sunfield", "Maple Grove", "Crescent", "Lakeshore",
    "Juniper", "Falcon Point", "Harrowgate", "Aldermoor", "Bramblewood", "Kestrel", "Lumen",
    "Marlowe", "Driftwood", "Starling", "Wexford", "Halcyon", "Quarry Hill", "Saltmarsh",
    "Thornbury", "Vantage", "Windmere", "Ashgrove", "Bellhaven", "Coldspring", "Dunmore",
    "Elmstead", "Fairhaven", "Glenrock", "Hollis", "Ivy Lane", "Kingsley", "Lowther", "Millbrook",
    "Norwood", "Orchard", "Prairie Wind", "Ravenscroft", "Sableford", "Tamarack", "Upland",
    "Valemont", "Whitcombe", "Yarrow", "Zephyr", "Amberly", "Blue Heron", "Canterbury", "Deepwell",
    "Eastwind", "Firwood", "Goldcrest", "Hawthorne", "Islington", "Jasper", "Kilbride", "Linden",
    "Moorland", "Newhall", "Oxbow", "Pelican", "Quill", "Rosemont", "Sterling", "Trillium",
    "Umber", "Verity", "Willowbrook", "Alpine", "Beacon", "Cobalt", "Delta Ridge", "Emberly",
]

# sector key, company name nouns, words the bodies use
SECTORS = [
    ("logistics", ["Logistics", "Freight", "Shipping", "Transport", "Cargo"],
     {"unit": "shipments", "site": "warehouses", "thing": "on-time delivery",
      "who": "dispatchers"}),
    ("retail", ["Retail", "Outfitters", "Market", "Goods", "Home"],
     {"unit": "orders", "site": "stores", "thing": "basket size", "who": "store managers"}),
    ("health", ["Health", "Clinics", "Medical", "Care Partners"],
     {"unit": "patient visits", "site": "clinics", "thing": "wait times", "who": "clinic leads"}),
    ("finance", ["Capital", "Financial", "Payments", "Lending"],
     {"unit": "transactions", "site": "branches", "thing": "default rates", "who": "analysts"}),
    ("manufacturing", ["Manufacturing", "Industries", "Fabrication", "Components", "Machining"],
     {"unit": "work orders", "site": "plants", "thing": "scrap rates", "who": "plant managers"}),
    ("software", ["Software", "Labs", "Systems", "Cloud", "Digital"],
     {"unit": "active users", "site": "product teams", "thing": "churn", "who": "PMs"}),
    ("energy", ["Energy", "Solar", "Power", "Utilities"],
     {"unit": "meter readings", "site": "sites", "thing": "peak load", "who": "field engineers"}),
    ("food", ["Foods", "Kitchens", "Provisions", "Farms", "Coffee"],
     {"unit": "orders", "site": "locations", "thing": "food waste", "who": "kitchen managers"}),
    ("hospitality", ["Hotels", "Hospitality", "Resorts", "Travel"],
     {"unit": "bookings", "site": "properties", "thing": "occupancy", "who": "revenue managers"}),
    ("education", ["Learning", "Academy", "Education"],
     {"unit": "enrollments", "site": "campuses", "thing": "retention", "who": "program leads"}),
    ("construction", ["Builders", "Construction", "Engineering", "Materials"],
     {"unit": "projects", "site": "job sites", "thing": "cost overruns",
      "who": "project managers"}),
    ("media", ["Media", "Studios", "Publishing"],
     {"unit": "subscribers", "site": "titles", "thing": "engagement", "who": "editors"}),
    ("insurance", ["Insurance", "Assurance", "Mutual"],
     {"unit": "claims", "site": "regional offices", "thing": "claim cycle time",
      "who": "adjusters"}),
]

# region: timezone offset in minutes (November), phone format, currency
REGIONS = [
    ("us-west", -480, "+1 ({a}) 555-01{b:02d}", "$", ["415", "206", "503", "619", "408"]),
    ("us-central", -360, "+1 ({a}) 555-01{b:02d}", "$", ["312", "512", "214", "612"]),
    ("us-east", -300, "+1 ({a}) 555-01{b:02d}", "$", ["212", "617", "404", "202", "305"]),
    ("uk", 0, "+44 20 7946 0{b:03d}", "£", [""]),
    ("de", 60, "+49 30 901820{b:02d}", "€", [""]),
    ("fr", 60, "+33 1 70 36 {b:02d} {c:02d}", "€", [""]),
    ("nl", 60, "+31 20 794 {b:04d}", "€", [""]),
    ("au", 660, "+61 2 5550 {b:04d}", "A$", [""]),
]
REGION_WEIGHTS = [18, 12, 22, 14, 10, 7, 6, 4]

STREETS = ["Market Street", "Harbor Drive", "Elm Avenue", "King Street", "Canal Road",
           "Mill Lane", "Station Road", "Commerce Way", "Park Avenue", "Bridge Street"]

TITLES = {
    # role tier "c": C-level, founder, owner, president
    "c": ["CEO", "Founder & CEO", "Co-founder & CTO", "CTO", "CFO", "COO", "Chief Revenue Officer",
          "Chief Data Officer", "President", "Owner", "Co-founder", "Chief Operating Officer",
          "Founder", "President & CEO", "Chief Financial Officer"],
    # VP, director, head
    "vp": ["VP of Sales", "VP of Operations", "VP of Finance", "VP Marketing",
           "Vice President, Supply Chain", "SVP, Customer Experience", "Director of Operations",
           "Director of Business Intelligence", "Head of Procurement", "Head of Data",
           "Head of Growth", "Sales Director", "Director of Finance", "Head of Analytics",
           "VP Engineering", "Director of IT", "Head of Revenue Operations", "Regional Director"],
    # manager, lead
    "mgr": ["Operations Manager", "Sales Manager", "Procurement Manager", "BI Manager",
            "Data Engineering Lead", "Marketing Manager", "Finance Manager", "Product Manager",
            "Analytics Lead", "IT Manager", "Revenue Operations Manager", "Team Lead, Reporting",
            "Category Manager", "Program Manager"],
    # everyone else
    "ic": ["Data Analyst", "Senior Data Analyst", "Business Analyst", "Operations Analyst",
           "Data Engineer", "Financial Analyst", "Marketing Specialist", "Executive Assistant",
           "Software Engineer", "Procurement Specialist", "Reporting Analyst", "Sales Coordinator"],
}

# archetype -> weights of title tiers c, vp, mgr, ic
TIER_WEIGHTS = {
    "hot": (55, 45, 0, 0),
    "warm": (15, 45, 30, 10),
    "neutral": (5, 25, 35, 35),
    "cold": (15, 25, 30, 30),
    "customer": (5, 30, 40, 25),
    "unhappy": (20, 45, 35, 0),
}
TIERS = ("c", "vp", "mgr", "ic")

TEAM = [
    # local part, name, title, phone, prospects or customers
    ("dana", "Dana Whitfield", "Account Executive", "+1 (206) 555-0147", "prospects"),
    ("omar", "Omar Haddad", "Senior Account Executive", "+1 (206) 555-0152", "prospects"),
    ("leo", "Leo Marchetti", "Sales Development Representative", "+1 (206) 555-0163",
     "outreach"),
    ("priya", "Priya Raman", "Customer Success Manager", "+1 (206) 555-0171", "customers"),
    ("sam", "Sam Okoro", "Solutions Engineer", "+1 (206) 555-0188", "customers"),
]

# ---------------------------------------------------------------------------
# Content: slot values
# ---------------------------------------------------------------------------

FEATURES = [
    ("the forecasting module", "Forecasting module"), ("the Salesforce sync", "Salesforce sync"),
    ("SSO with Okta", "SSO"), ("the Snowflake connector", "Snowflake connector"),
    ("scheduled reports", "Scheduled reports"), ("the anomaly alerts", "Anomaly alerts"),
    ("role-based permissions", "Permissions"), ("the embedded dashboards", "Embedded dashboards"),
    ("the REST API", "API"), ("the pipeline dashboard", "Pipeline dashboard"),
    ("the churn model", "Churn model"), ("the BigQuery connector", "BigQuery connector"),
    ("the HubSpot integration", "HubSpot integration"), ("custom KPIs", "Custom KPIs"),
    ("the cohort reports", "Cohort reports"), ("audit logs", "Audit logs"),
    ("the what-if planner", "What-if planner"), ("the NetSuite import", "NetSuite import"),
]
MISSING = [
    ("a Slack digest of the daily KPIs", "Slack digest"), ("dark mode", "dark mode"),
    ("a native Excel export", "Excel export"), ("row-level security on shared dashboards",
                                                 "row-level security"),
    ("a Microsoft Teams integration", "Teams integration"),
    ("custom fiscal calendars", "fiscal calendars"),
    ("version history for dashboards", "dashboard version history"),
    ("drill-down from the map view", "map drill-down"),
    ("a read-only viewer seat", "viewer seats"), ("German and French UI translations",
                                                   "UI translations"),
    ("alerts by SMS", "SMS alerts"), ("annotations on charts", "chart annotations"),
    ("a Looker-style semantic layer", "semantic layer"),
    ("scheduled exports to SFTP", "SFTP exports"),
]
INTEGRATIONS = ["Salesforce", "HubSpot", "Snowflake", "BigQuery", "NetSuite", "Shopify",
                "Zendesk", "Redshift", "SAP", "Postgres", "Databricks", "QuickBooks"]
TOOLS = ["spreadsheets", "a homegrown Postgres and Excel setup", "our current BI tool",
         "a patchwork of Google Sheets", "a reporting system from 2014", "PowerPoint decks",
         "a couple of Python scripts one analyst maintains", "an old Crystal Reports server"]
EVENTS = ["the Data Leaders Summit in Austin", "your webinar on forecasting last month",
          "the Supply Chain Analytics meetup", "a LinkedIn post from your CEO",
          "a podcast episode with your founder", "the RevOps Forum in Chicago",
          "a recommendation from a friend at another company", "the Analytics Europe conference",
          "your booth at the Retail Tech Expo", "a review site comparison"]
COLLEAGUE_ROLES = ["our CFO", "the head of IT", "two people from my team", "our data lead",
                   "our COO", "my manager", "the procurement team", "our security officer",
                   "a couple of our regional leads", "our finance director"]
TIMES = ["10:00 PT", "11am ET", "2:30 pm ET", "15:00 CET", "9:30 GMT", "1pm CT", "4 pm PT",
         "10:30 ET", "14:00 CET", "noon Eastern", "9am Pacific", "16:00 GMT"]
QUARTERS = ["the end of the quarter", "January", "Q1", "our fiscal year start in February",
            "the holidays", "the end of the year", "our board meeting in December",
            "the spring planning cycle"]
SEATS = [8, 10, 12, 15, 18, 20, 25, 30, 35, 40, 45, 50, 60, 75, 80, 100, 120, 150, 200, 250,
         300, 400]

# ---------------------------------------------------------------------------
# Content: sentence templates. {slots} are filled per message (see Slots).
# ---------------------------------------------------------------------------

GREET_NAMED = ["Hi {rep_first},", "Hello {rep_first},", "Hi {rep_first},", "Hey {rep_first},",
               "Good morning {rep_first},", "Dear {rep_first},", "{rep_first},",
               "Hi {rep_first} -", "Hi {rep_first}!", "Afternoon {rep_first},"]
GREET_TEAM = ["Hi there,", "Hello,", "Hi team,", "Dear Northwind team,", "Hello Northwind team,",
              "Hi all,", "Good afternoon,", "To whom it may concern,", "Hi folks,", "Greetings,"]
GREET_OUT = ["Hi {first},", "Hello {first},", "Hi {first},", "Dear {first},", "{first},",
             "Hi {first} -", "Good morning {first},", "Hey {first},"]

SIGNOFF_POS = ["Best,", "Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Thanks!",
               "Many thanks,", "All the best,", "Talk soon,", "Warm regards,", "Thank you,",
               "Looking forward to it,", "Speak soon,", "Thanks a lot,"]
SIGNOFF_NEU = ["Best,", "Thanks,", "Regards,", "Best regards,", "Kind regards,", "Thank you,",
               "Thanks in advance,", "Cheers,", "Sincerely,"]
SIGNOFF_NEG = ["Regards,", "Thanks,", "Sincerely,", "Waiting for your reply,", "Best,"]
SIGNOFF_OUT = ["Best,", "Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Talk soon,",
               "All the best,", "Thanks again,", "Warmly,", "Speak soon,"]

OPEN_POS = ["Hope your week is going well.", "Hope you had a good weekend.",
            "Thanks again for the time on {day_past}.", "Hope all is well on your side.",
            "Quick note before my next meeting.", "Thanks for getting back to me so quickly.",
            "Hope you're doing well!", "Great speaking with you on {day_past}.", "", "", ""]
OPEN_NEU = ["Hope you're well.", "I hope this finds you well.", "", "", "",
            "Quick one from me.", "Reaching out on behalf of our {dept} team."]
OPEN_NEG = ["", "", "I need to raise an issue with you.", "Sorry to write again about this.",
            "I'm writing because we have a problem.", "I'll get straight to the point."]

CONTEXT = [
    "We run {sites_n} {site} and track roughly {volume} {unit} a month, mostly in {tool}.",
    "Right now our {who} pull numbers from {tool}, which takes about {hours} hours a week.",
    "We're a team of {team_n} on the {dept} side and have outgrown {tool}.",
    "Our goal is to get {thing} in front of every {who_one} without anyone exporting CSVs.",
    "Most of our data sits in {integration}, and we'd want it refreshed at least hourly.",
    "We grew from {sites_small} to {sites_n} {site} this year and reporting has not kept up.",
    "Leadership wants one view of {thing} across all {sites_n} {site} by {quarter}.",
    "We looked at a few options and {product} came out on top for ease of use.",
]
PRICING = [
    "Could you send over pricing for around {seats} seats?",
    "What would the annual cost look like for a team of {seats}?",
    "We have budget approved for this quarter, so I'd like to understand your pricing tiers "
    "and what's included in Enterprise.",
    "Is there a discount for a two-year commitment?",
    "Do you price per seat or by volume? We'd have about {seats} users and {volume} {unit} "
    "a month.",
    "Can you put together a quote that includes {feature} and onboarding?",
    "What's the price difference between the Growth and Enterprise plans for {seats} users?",
    "Before I take this to {colleague_role}, I need a ballpark figure for {seats} seats plus "
    "{feature}.",
    "Could you share a quote for {seats} seats, billed annually? We'd like to start by "
    "{date}.",
    "Our budget for this is around {budget} a year. Can we make that work for {seats} users?",
    "How does pricing scale if we go from {seats} to {seats2} seats next year?",
]
MEETING = [
    "Would you have time for a demo {day}? I'd like to bring {colleague_role}.",
    "Can we set up a call this week to walk through {feature}?",
    "Are you free {day} at {time}? 30 minutes should be enough.",
    "I'd love to schedule a live demo for our leadership team, ideally {day} or {day2}.",
    "Could we book an hour with your solutions engineer to go through {feature} on our own "
    "data?",
    "Let's get a meeting on the calendar - {day} or {day2} both work for me.",
    "Can you do a quick call {day} afternoon? I have a few questions best handled live.",
    "We'd like a second demo focused on {feature} for {colleague_role}. When are you free?",
]
CONTRACT = [
    "Legal has reviewed the MSA and has only two small comments on the data processing "
    "addendum.",
    "We're aiming to sign by {date} so we can roll out to {sites_n} {site} before {quarter}.",
    "Please send over the order form so I can get it to procurement this week.",
    "What does the onboarding timeline look like if we sign this month?",
    "We're ready to move forward with the Enterprise plan for {seats} seats.",
    "Our CFO approved the budget yesterday, so let's talk contract and start date.",
    "Can we start the pilot on {date} and convert to an annual contract after {weeks} weeks?",
    "Procurement needs your W-9 and the security questionnaire to open a vendor record.",
    "If you can hold the quoted price until {date}, we can get the signature done by then.",
]
POSITIVE = [
    "The demo last week went over really well with the team.",
    "Everyone who saw {feature} was impressed - it's exactly what we've been missing.",
    "Really excited about this, it would save us a huge amount of time.",
    "Thanks so much for the quick turnaround, that's really helpful.",
    "Our {who} loved the trial, and two of them already asked when they get access.",
    "This looks like a great fit for us.",
    "Honestly the best demo we've seen in this evaluation.",
    "Great to see how fast the {integration} connection was to set up.",
    "We're keen to get going as soon as possible.",
    "I shared the recording internally and the feedback was very positive.",
]
QUESTION = [
    "Does {feature} support {integration} out of the box?",
    "How long do you keep raw event data, and can we change that?",
    "Is there a way to export dashboards to PDF on a schedule?",
    "Can we restrict access so each {who_one} only sees their own {site_one}?",
    "Do you have a SOC 2 Type II report we could review?",
    "Where is the data hosted? We need it to stay in the {data_region}.",
    "How do we add a new user without giving them admin rights?",
    "Can {feature} handle about {volume} {unit} a month without slowing down?",
    "What's the best way to connect {integration} if our IT team blocks inbound traffic?",
    "Is there an API endpoint to pull the numbers behind {feature}?",
    "How often does {feature} refresh, and can we trigger it manually?",
    "Can we white-label the embedded dashboards with our own logo?",
    "Is there a sandbox where we can test changes before they go live?",
]
FEATURE_REQ = [
    "It would be great if {feature} could also give us {missing}.",
    "Any plans to add {missing}? Our team keeps asking for it.",
    "One request from our {who}: {missing}. Is that on the roadmap?",
    "We'd happily be a beta tester for {missing} if you're building it.",
    "Small wish list item: {missing}. It would save us an export every morning.",
    "Would you consider adding {missing}? It's the one thing we miss from {tool}.",
    "Feature idea - {missing}. I think a lot of your customers would use it.",
]
COMPLAINT = [
    "{feature_cap} has been failing since {weekday_past}, and our team is stuck.",
    "This is the third time this month that the dashboards have been down during our morning "
    "review.",
    "We were charged twice on invoice {invoice}. Please refund the duplicate charge.",
    "Dashboards now take over {secs} seconds to load, which makes them unusable in meetings.",
    "Honestly this is really frustrating - we pay for Enterprise support and nobody has "
    "answered ticket #{ticket} in {n_days} days.",
    "The numbers in {feature} don't match {integration} anymore, and our {who} noticed "
    "before we did.",
    "Since the last update our scheduled reports arrive empty.",
    "I'm disappointed with the response time from support. We were promised a fix last week.",
    "The {integration} sync dropped about {pct}% of our {unit} yesterday.",
    "Half of my team was locked out this morning after the SSO change.",
]
COMPLAINT_ESCALATE = [
    "If this isn't fixed by {day}, we'll have to reconsider our renewal.",
    "Please escalate this - it's urgent.",
    "I need someone to call me today.",
    "This is blocking our month-end close.",
    "We can't keep explaining wrong numbers to our board.",
    "I expect a credit for the downtime.",
    "This is not the level of service we signed up for.",
]
COMPLAINT_AGAIN = [
    "Unfortunately it's still broken on our side.",
    "Thanks, but the problem is back again this morning.",
    "This still isn't resolved and it's been {n_days} days.",
    "The workaround doesn't help - the {unit} numbers are still wrong.",
    "We're now missing data for {weekday_past} as well.",
    "Nobody from your team has followed up since your last email.",
]
FOLLOW_UP = [
    "Just following up on my email from last week.",
    "Circling back on the proposal - any update on your side?",
    "Wanted to bump this to the top of your inbox.",
    "Checking in again on my earlier question about {feature}.",
    "Any news on this? I need to give {colleague_role} an answer by {day}.",
    "Following up on our conversation - did you get a chance to look into it?",
    "Sorry to chase, but do you have an update?",
]
GENERAL = [
    "Came across {product} at {event} and wanted to say hello.",
    "Thanks for the newsletter - the piece on {thing} was a good read.",
    "We're reorganizing our data team, so I'll be in touch later next year.",
    "I'm collecting information on analytics tools for a project early next year.",
    "A colleague mentioned {product}, so I thought I'd introduce myself.",
    "Just wanted to put a face to the name after {event}.",
    "We're not looking to change tools right now, but happy to stay in touch.",
]
GENERAL_MORE = [
    "No rush on any of this.", "Feel free to send over any material you have.",
    "Happy to chat at some point.", "We'll see what the budget looks like in the new year.",
    "", "",
]
CONFIRM = [
    "{day} at {time} works great for me.",
    "Perfect, I've accepted the invite.",
    "That time works - I'll bring {colleague_role}.",
    "Thanks, {day} is confirmed on our side.",
    "Great, see you {day}. I'll share our current dashboards beforehand.",
    "Booked. Could you include {feature} in the walkthrough?",
]
THANKS = [
    "Thanks, that answers my question.", "Perfect, that's exactly what I needed.",
    "Great, thank you for the quick reply!", "Thanks - that works for us.",
    "Appreciate the detailed answer.", "Got it, thanks a lot.",
]
NEXT_STEPS = [
    "What are the next steps on your side?",
    "Can you send the contract so we can get it signed?",
    "Let's aim to kick off onboarding the week of {date}.",
    "I'll loop in procurement today.",
    "From our side we're ready to go once legal signs off.",
    "From what I can tell, we could be live before {quarter}.",
    "Please send over the order form for {seats} seats.",
]
EVALUATING = [
    "We're still evaluating a couple of options and will come back to you.",
    "Timing-wise this is more of a next-quarter project for us.",
    "I'll share this with the team and get back to you.",
    "Let me check with {colleague_role} and come back to you.",
    "We need to finish our data migration before we look at tools.",
]
PS_LINES = ["P.S. {extra}", "", "", "", "", ""]
PS_EXTRA = ["Loved the new {feature} release notes.", "Happy early holidays!",
            "I'm out {day} afternoon, mornings are best.",
            "Congrats on the new office!", "We're also hiring two analysts, in case you know "
            "anyone."]

# our side
OUT_PRICING = [
    "Thanks for your interest! For {seats} seats, the Growth plan comes to {price} per year, "
    "billed annually, including onboarding.",
    "For a team of {seats}, Enterprise is {price_ent} a year with SSO, audit logs and a dedicated "
    "success manager.",
    "Pricing is per seat: {per_seat} per user per month on Growth, with volume discounts from "
    "{seats2} seats.",
    "For a two-year term we can take {pct}% off the list price.",
    "I've put together a quote for {seats} seats at {price} per year; it includes {feature}.",
    "Happy to help with budget: {seats} seats on Growth is {price} a year, and you can add "
    "seats at any time.",
]
OUT_MEETING = [
    "Happy to! How about {day} at {time}? I'll send a calendar invite.",
    "Sure - I have {day} at {time} or {day2} at {time2}. Which works better?",
    "Great idea. I'll bring {se_first}, our solutions engineer, to go deep on {feature}.",
    "Sounds good. I've sent an invite for {day}; feel free to forward it to {colleague_role}.",
    "Absolutely. Our demos take about 45 minutes - is {day} at {time} OK?",
]
OUT_DEMO_PREP = [
    "I'll tailor the demo to {thing} across your {site}.",
    "If you can share a sample export beforehand, we'll load it so you see your own numbers.",
    "I'll make sure we cover {feature} and how it connects to {integration}.",
    "Feel free to send the questions you'd like answered; I'll build the agenda around them.",
    "Our solutions engineer {se_first} will join to handle the technical questions.",
]
OUT_ANSWER = [
    "Good question - yes, {feature} works with {integration} without any extra setup.",
    "We keep raw data for 25 months by default, and admins can shorten that in settings.",
    "Yes: under Reports > Schedule you can send any dashboard as a PDF every day or week.",
    "You can do that with workspace roles; I've linked the guide below.",
    "Our SOC 2 Type II report is available under NDA; I'll send the NDA over today.",
    "We host in the {data_region} region, and data never leaves it.",
    "The API exposes every metric behind {feature}; the docs have examples in Python.",
    "Refresh runs every 15 minutes, and admins can trigger one from the dataset page.",
    "{volume} {unit} a month is well within what our customers run every day.",
]
OUT_FEATURE = [
    "Thanks for the suggestion! I've shared it with our product team.",
    "Good news: {missing} is on the roadmap for early next year.",
    "I've logged this as a feature request and added your use case to it.",
    "We don't support that today, but there's a workaround with {feature} I can show you.",
    "Our PM would love to hear more - could she reach out for a 20-minute call?",
]
OUT_APOLOGY = [
    "I'm really sorry about this. I've escalated it to our engineering team (ticket "
    "#{ticket}).",
    "Apologies for the trouble - we found the cause and a fix is rolling out today.",
    "Thank you for flagging this, and sorry for the slow response.",
    "I've asked our billing team to refund the duplicate charge; you'll see it in 3-5 days.",
    "That's not the experience we want you to have. I'll personally keep you updated.",
    "Our engineers confirmed the {integration} sync issue and are on it now.",
]
OUT_FIXED = [
    "The fix is live as of this morning - could you check on your side?",
    "We've backfilled the missing {unit}, so your reports should be complete again.",
    "I've added a credit for this month to your account as an apology.",
    "Engineering deployed a patch last night; let me know if you still see errors.",
    "I'll call you {day} at {time} to walk through what happened.",
]
OUT_CONTRACT = [
    "Great news! I've sent the order form for {seats} seats via DocuSign.",
    "Attached is the MSA with your legal team's comments accepted.",
    "Onboarding usually takes {weeks} weeks; we can kick off the week of {date}.",
    "I'll hold the quoted price until {date}.",
    "Our security questionnaire answers and W-9 are on their way from our finance team.",
]
OUT_OUTREACH = [
    "I noticed {company} has been growing fast, and teams your size often struggle to keep "
    "{thing} reporting up to date.",
    "We help {sector_pl} companies see {thing} across every {site_one} in one dashboard.",
    "Customers like yours replaced {tool} with {product} and cut reporting time by {pct}%.",
    "Would a 20-minute call {day} be worth it to see if we can help?",
    "I'd love to show you how {feature} works on data like yours.",
    "No pressure at all - if now isn't the right time, just let me know.",
]
OUT_CHECKIN = [
    "Just checking in to see if you had any questions after our last conversation.",
    "Wanted to follow up on the proposal I sent over.",
    "Any thoughts on next steps? Happy to set up a call with {colleague_role}.",
    "I know things get busy before {quarter}, so I wanted to keep this on your radar.",
]
OUT_NUDGE = [
    "Bumping this in case it got buried.",
    "Just floating this back to the top of your inbox.",
    "I know you're busy, so I'll keep this short.",
    "One more try - is {thing} reporting something you're looking at this year?",
]
OUT_RENEWAL = [
    "Your annual subscription renews on {date}. Nothing to do if you'd like to continue.",
    "Ahead of your renewal on {date}, I'd love to review how the team is using {feature}.",
    "If you're planning to add seats at renewal, now is a good time to let me know.",
]
OUT_RECAP = [
    "Thanks for your time today! As promised, here's a quick recap.",
    "Great to meet the team. The recording is in the shared folder.",
    "As discussed, the next step is a two-week pilot with {seats} seats.",
    "I've summarized the questions about {feature} and will follow up on each.",
]
OUT_CLOSE = ["Let me know if you have any questions.", "Happy to jump on a call anytime.",
             "Looking forward to hearing from you.", "Talk soon.", "", "",
             "Let me know what you think."]

SUBJECTS = {
    "pricing": ["Pricing for {seats} seats", "Quote request - {company}", "Pricing question",
                "Enterprise plan pricing?", "Cost for {company} rollout",
                "Budget for next quarter", "Licensing options", "Pricing + next steps",
                "Quote for {seats} users"],
    "demo": ["Demo request", "Demo next week?", "Call to walk through {feature_short}",
             "Scheduling a demo for our leadership team", "Quick call?",
             "Meeting request: {product} demo", "Demo for {company}", "Second demo"],
    "contract": ["Contract and next steps", "MSA redlines", "Order form - {company}",
                 "Next steps / timeline", "Ready to move forward", "Contract timeline",
                 "Signing this month"],
    "question": ["Question about {feature_short}", "Quick question", "{integration} question",
                 "Data retention", "SSO setup", "Exporting dashboards", "Security review",
                 "User permissions", "Question re: {feature_short}", "Hosting question"],
    "feature": ["Feature request: {missing_short}", "Idea for the roadmap",
                "Suggestion: {missing_short}", "Any plans for {missing_short}?",
                "Wish list item"],
    "complaint": ["{feature_short} not working", "URGENT: dashboards down", "Sync failures again",
                  "Billing error on {invoice}", "Very slow dashboards", "Still broken",
                  "Problem with our account", "Data missing from reports", "Locked out"],
    "followup": ["Following up", "Checking in", "Any update?", "Update on {feature_short}?",
                 "Follow-up"],
    "general": ["Hello from {company}", "Nice to meet you", "Intro", "Saw you at an event",
                "Quick hello", "Staying in touch"],
    "checkin": ["Checking in", "Next steps?", "Following up on our conversation",
                "Proposal follow-up", "Any questions on the proposal?"],
    "outreach": ["{company} + {our_company}", "Idea for {company}'s {site}",
                 "Reporting at {company}", "Cutting reporting time at {company}",
                 "Quick question about {thing}"],
    "renewal": ["Your {product} renewal", "Renewal coming up on {date}",
                "Subscription renewal - {company}"],
    "recap": ["Thanks for your time today", "Demo recap + next steps", "Follow-up from our call",
              "Recap: {product} demo"],
}

# Subjects with non-ASCII characters (RFC 2047 encoded), for senders with such names.
INTL_SUBJECTS = {
    "pricing": ["Angebot für {seats} Lizenzen", "Pricing for our Zürich office",
                "Offerte – {company}", "Budget 2027 – pricing for {seats} seats"],
    "demo": ["Démo la semaine prochaine ?", "Demo für unser Führungsteam",
             "Demo – {feature_short}"],
    "question": ["Frage zur Datenübertragung", "Question sur {feature_short} – données",
                 "Datenschutz: Hosting in der EU möglich?",
                 "Kurze Frage zu {feature_short} – API"],
}

NEWSLETTERS = [
    ("The Data Brief", "newsletter@thedatabrief.example", "The Data Brief #{issue}: {headline}"),
    ("SaaS Metrics Weekly", "digest@saasmetrics-weekly.example", "This week: {headline}"),
    ("RevOps Digest", "hello@revops-digest.example", "RevOps Digest - {headline}"),
    ("Data Leaders Summit", "events@dataleaders-summit.example",
     "Last chance: {headline}"),
    ("CloudHost Billing", "billing@cloudhost.example", "Your CloudHost receipt #{issue}"),
    ("Calendly-ish", "notifications@meetbook.example", "New event: {headline}"),
]
HEADLINES = ["why forecasts fail", "5 dashboards every COO wants", "the cost of bad data",
             "pricing pages that convert", "AI in the sales pipeline", "a guide to churn models",
             "benchmarks for net revenue retention", "early bird tickets end Friday",
             "hiring your first analytics engineer", "what boards ask about metrics",
             "data contracts explained", "the state of B2B buying 2026", "30 min with Maya Chen",
             "speaker lineup announced", "Q4 planning templates"]


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def slug(s):
    s = s.lower().replace("&", "and").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def rfc2822_date(t, off_min):
    tm = time.gmtime(t + off_min * 60)
    sign = "+" if off_min >= 0 else "-"
    a = abs(off_min)
    return "%s, %d %s %d %02d:%02d:%02d %s%02d%02d" % (
        WEEKDAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year, tm.tm_hour,
        tm.tm_min, tm.tm_sec, sign, a // 60, a % 60)


def asctime_utc(t):
    tm = time.gmtime(t)
    return "%s %s %2d %02d:%02d:%02d %d" % (WEEKDAYS[tm.tm_wday], MONTHS[tm.tm_mon - 1],
                                            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                                            tm.tm_year)


def is_ascii(s):
    return s.isascii()


def q_word(s):
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "!*+-/"):
            out.append(c)
        elif c == " ":
            out.append("_")
        else:
            out.append("=%02X" % b)
    return "=?UTF-8?Q?" + "".join(out) + "?="


def b_word(s):
    return "=?UTF-8?B?" + base64.b64encode(s.encode("utf-8")).decode("ascii") + "?="


SPECIALS = set('()<>[]:;@\\,."')


def fmt_addr(name, email, enc="q"):
    if not name:
        return email
    if not is_ascii(name):
        return "%s <%s>" % (q_word(name) if enc == "q" else b_word(name), email)
    if any(c in SPECIALS for c in name):
        return '"%s" <%s>' % (name.replace("\\", "\\\\").replace('"', '\\"'), email)
    return "%s <%s>" % (name, email)


def fmt_subject(s):
    if is_ascii(s):
        return s
    return Header(s, "utf-8", maxlinelen=76, header_name="Subject").encode(linesep="\n")


def qp_encode(text):
    data = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    s = data.decode("ascii")
    # Keep lines starting with "From " out of the mbox escaping.
    if "\nFrom " in s or s.startswith("From "):
        s = re.sub(r"(?m)^From ", "=46rom ", s)
    return s


def b64_lines(data):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wrap(text, width=72):
    """Wraps each line of text at width (greedy, on spaces)."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        cur = ""
        for w in line.split(" "):
            if not cur:
                cur = w
            elif len(cur) + 1 + len(w) <= width:
                cur += " " + w
            else:
                out.append(cur)
                cur = w
        out.append(cur)
    return "\n".join(out)


def make_pdf(title, lines):
    """A small valid one-page PDF with a title and a few text lines."""
    def esc(s):
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = ["BT", "/F1 18 Tf", "72 720 Td", "(%s) Tj" % esc(title), "/F1 11 Tf"]
    for ln in lines:
        content += ["0 -20 Td", "(%s) Tj" % esc(ln)]
    content.append("ET")
    stream = "\n".join(content).encode("latin-1", "replace")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return bytes(out)


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------

class Company:
    __slots__ = ("name", "domain", "sector", "words", "kind", "people", "tz", "phone_fmt",
                 "area", "currency", "region", "email_fmt", "street", "website", "seats",
                 "sites", "volume", "team_n", "per", "per_ent")


class Person:
    __slots__ = ("first", "last", "name", "email", "title", "tier", "company", "arch", "rep",
                 "display", "hdr_enc", "sig", "sig_short", "fmt", "wrap", "cte", "outlook",
                 "mobile_tail", "greet_named", "uid")


class Member:
    """Someone on our team."""
    __slots__ = ("local", "name", "first", "title", "phone", "email", "display", "sig", "fmt",
                 "role")


class Slots(dict):
    """Slot values of one message, made on first use so each template pays
    only for what it names."""

    def __init__(self, gen, t, person=None, rep=None):
        super().__init__()
        self.g = gen
        self.t = t
        self.p = person
        self.r = rep

    def __missing__(self, key):
        v = self.g.slot(self, key)
        self[key] = v
        return v


class Msg:
    __slots__ = ("t", "off", "from_name", "from_email", "hdr_enc", "to", "cc", "subject",
                 "msgid", "irt", "refs", "text", "new", "parent", "qhead", "qoutlook", "fmt",
                 "cte", "attach", "extra", "inbound", "env", "person", "thread_subject", "html")

    def __init__(self):
        self.html = None


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------

class Generator:
    def __init__(self, count, seed, own, end):
        self.count = count
        self.rng = random.Random(seed)
        self._random = self.rng.random
        self.own = own.lower()
        self.own_domain = self.own.split("@", 1)[1]
        self.end = end
        self.start = end - WINDOW_DAYS * DAY
        self.msgs = []
        self.seq = 0
        self.bodies = set()
        self.attached = 0
        self.team = {}
        self.people = []
        self.companies = []
        self.intl_done = set()  # the first warm lead and customer have non-ASCII names
        self._make_team()
        self._make_people()

    def ch(self, seq):
        """random.choice, without its overhead (same distribution)."""
        return seq[int(self._random() * len(seq))]

    # -- setup --------------------------------------------------------------

    def _make_team(self):
        rng = self.rng
        for local, name, title, phone, role in TEAM:
            m = Member()
            m.local, m.name, m.title, m.phone, m.role = local, name, title, phone, role
            m.first = name.split()[0]
            m.email = "%s@%s" % (local, self.own_domain)
            m.display = fmt_addr(name, m.email)
            m.sig = "-- \n%s\n%s | %s\n%s\n%s" % (name, title, OUR_COMPANY, phone,
                                                   self.own_domain)
            m.fmt = "alt" if local in ("dana", "priya", "leo") else "plain"
            self.team[local] = m
        local = self.own.split("@", 1)[0]
        self.shared_name = "%s %s" % (OUR_COMPANY.split()[0], local.capitalize())
        self.shared_display = fmt_addr(self.shared_name, self.own)
        self.reps_prospect = [self.team["dana"], self.team["omar"]]
        self.reps_customer = [self.team["priya"], self.team["sam"]]
        self.se = self.team["sam"]

    def _n_contacts(self):
        n = self.count
        return max(n // 20, min(60, max(3, n // 6)))

    def _make_people(self):
        rng = self.rng
        n = self._n_contacts()
        # archetypes
        k_hot = max(1, round(n * 0.115))
        k_warm = max(1, round(n * 0.2))
        k_unhappy = max(1, round(n * 0.067))
        k_cold = max(1, round(n * 0.25))
        k_neutral = max(0, round(n * 0.12))
        k_customer = max(0, n - k_hot - k_warm - k_unhappy - k_cold - k_neutral)
        cold_p = k_cold * 2 // 3
        prospects = ["hot"] * k_hot + ["warm"] * k_warm + ["neutral"] * k_neutral + \
            ["cold"] * cold_p
        customers = ["customer"] * k_customer + ["unhappy"] * k_unhappy + \
            ["cold"] * (k_cold - cold_p)
        rng.shuffle(prospects)
        rng.shuffle(customers)

        names = self._company_names(n)
        ni = 0
        for kind, pool in (("prospect", prospects), ("customer", customers)):
            i = 0
            while i < len(pool):
                size = rng.choices((1, 2, 3, 4), (22, 36, 27, 15))[0]
                group = pool[i:i + size]
                i += size
                co = self._make_company(names[ni], kind)
                ni += 1
                for arch in group:
                    self._make_person(co, arch)
        # hot prospects first in a company listing order does not matter; keep
        # generation order stable but mixed
        rng.shuffle(self.people)
        for uid, p in enumerate(self.people):
            p.uid = uid

    def _company_names(self, need):
        """need distinct company names: every prefix once before any repeats."""
        rng = self.rng
        nouns = [(noun, si) for si, (_, ns, _) in enumerate(SECTORS) for noun in ns]
        out = []
        seen = set()
        suffixes = ["", " Group", " Partners", " Co", " Holdings", " International"]
        r = 0
        while len(out) < need:
            prefixes = list(COMPANY_PREFIXES)
            rng.shuffle(prefixes)
            suf = suffixes[(r // len(nouns)) % len(suffixes)] if r >= len(nouns) else ""
            for pre in prefixes:
                if len(out) >= need:
                    break
                for _ in range(20):
                    noun, si = self.ch(nouns)
                    name = "%s %s%s" % (pre, noun, suf)
                    if r >= len(nouns) * len(suffixes):
                        name += " %d" % (r // (len(nouns) * len(suffixes)) + 1)
                    if name not in seen:
                        seen.add(name)
                        out.append((name, si))
                        break
            r += 1
        return out

    def _make_company(self, name_si, kind):
        rng = self.rng
        name, si = name_si
        co = Company()
        co.name = name
        co.domain = slug(name) + ".example"
        co.sector = SECTORS[si][0]
        co.words = SECTORS[si][2]
        co.kind = kind
        co.people = []
        region = rng.choices(REGIONS, REGION_WEIGHTS)[0]
        co.region, co.tz, co.phone_fmt, co.currency = region[0], region[1], region[2], region[3]
        co.area = self.ch(region[4])
        co.email_fmt = rng.choices(("first.last", "first", "flast", "firstl", "first_last"),
                                   (50, 15, 20, 8, 7))[0]
        co.street = "%d %s" % (rng.randint(1, 980), self.ch(STREETS))
        co.website = "www." + co.domain
        # facts a conversation repeats, so its messages agree with each other
        co.seats = self.ch(SEATS)
        co.sites = rng.randint(4, 85)
        co.volume = rng.randint(3, 900) * 1000
        co.team_n = rng.randint(6, 140)
        co.per = self.ch((39, 45, 49, 59, 65))
        co.per_ent = self.ch((79, 89, 95, 99, 109))
        self.companies.append(co)
        return co

    def _phone(self, co):
        rng = self.rng
        return co.phone_fmt.format(a=co.area, b=rng.randint(0, 99) if "{b:02d}" in co.phone_fmt
                                   else rng.randint(0, 999), c=rng.randint(0, 99))

    def _make_person(self, co, arch):
        rng = self.rng
        p = Person()
        p.company = co
        p.arch = arch
        names = {q.name for q in co.people}
        intl = rng.random() < 0.06 or (arch in ("warm", "customer") and
                                       arch not in self.intl_done)
        for _ in range(10):
            if intl:
                first, last, fa, la = self.ch(INTL_NAMES)
            else:
                first, last = self.ch(FIRST_NAMES), self.ch(LAST_NAMES)
                fa, la = first.lower(), last.lower()
            if "%s %s" % (first, last) not in names:
                break
        if intl:
            self.intl_done.add(arch)
        p.first, p.last = first, last
        p.name = "%s %s" % (first, last)
        local = {"first.last": "%s.%s" % (fa, la), "first": fa, "flast": fa[0] + la,
                 "firstl": fa + la[0], "first_last": "%s_%s" % (fa, la)}[co.email_fmt]
        local = local.replace("'", "")
        used = {q.email for q in co.people}
        email = "%s@%s" % (local, co.domain)
        k = 2
        while email in used:
            email = "%s%d@%s" % (local, k, co.domain)
            k += 1
        p.email = email
        taken = {q.title for q in co.people}
        tier = rng.choices(TIERS, TIER_WEIGHTS[arch])[0]
        choices = [t for t in TITLES[tier] if t not in taken] or TITLES[tier]
        p.tier = tier
        p.title = self.ch(choices)
        if co.kind == "customer":
            p.rep = self.ch(self.reps_customer)
        else:
            p.rep = self.ch(self.reps_prospect)
        p.hdr_enc = self.ch("qb")
        if is_ascii(p.name) and rng.random() < 0.08:
            p.display = '"%s, %s" <%s>' % (last, first, email)
        else:
            p.display = fmt_addr(p.name, email, p.hdr_enc)
        p.fmt = rng.choices(("plain", "alt", "html"), (58, 34, 8))[0]
        p.wrap = rng.random() < 0.4
        p.cte = "8bit" if rng.random() < 0.3 else "quoted-printable"
        p.outlook = rng.random() < 0.18
        p.greet_named = rng.random() < 0.8
        p.sig = self._signature(p)
        p.sig_short = self.ch(["", "Sent from my iPhone", "Sent from my phone, excuse typos",
                                  "Sent from Outlook for Android", ""])
        co.people.append(p)
        self.people.append(p)

    def _signature(self, p):
        rng = self.rng
        co = p.company
        phone = self._phone(co)
        mobile = self._phone(co)
        company = co.name + self.ch(["", "", "", ", Inc.", " Ltd", " GmbH"] if co.region in
                                       ("de",) else ["", "", "", ", Inc.", " LLC"])
        style = rng.randrange(6)
        if style == 0:
            return "-- \n%s\n%s | %s\n%s\n%s" % (p.name, p.title, company, phone, co.website)
        if style == 1:
            return "%s\n%s, %s\nDirect: %s" % (p.name, p.title, company, phone)
        if style == 2:
            return "%s | %s\n%s\nm: %s | o: %s" % (p.name, p.title, company, mobile, phone)
        if style == 3:
            return "%s\n%s\n%s | %s\n%s" % (p.name, p.title, company, co.website, phone)
        if style == 4:
            return ("%s\n%s\n%s\n%s\nT %s\n\nThis email and any attachments are confidential "
                    "and intended solely for the addressee.") % (p.name, p.title, company,
                                                                co.street, phone)
        return "-- \n%s\n%s at %s\nPhone: %s" % (p.name, p.title, company, phone)

    # -- slots --------------------------------------------------------------

    def _future_day(self, t, lo=1, hi=7):
        rng = self.rng
        d = t + rng.randint(lo, hi) * DAY
        wd = time.gmtime(d).tm_wday
        if wd >= 5:
            d += (7 - wd) * DAY
        return d

    def slot(self, s, key):
        rng = self.rng
        p = s.p
        co = p.company if p else None
        if key == "first":
            return p.first
        if key == "rep_first":
            return s.r.first if s.r else "there"
        if key == "company":
            return co.name
        if key == "product":
            return PRODUCT
        if key == "our_company":
            return OUR_COMPANY
        if key == "seats":
            return str(co.seats if co and rng.random() < 0.85 else self.ch(SEATS))
        if key == "seats2":
            base = int(s["seats"])
            if rng.random() < 0.5:
                return str(base * self.ch((2, 3)))
            return str(base + self.ch((10, 20, 25, 50)))
        if key in ("price", "price_ent"):
            per = (co.per if key == "price" else co.per_ent) if co else 49
            return "%s%s" % (self._cur(co), "{:,}".format(int(s["seats"]) * per * 12))
        if key == "per_seat":
            return "%s%d" % (self._cur(co), co.per if co else 49)
        if key == "budget":
            return "%s%dk" % (self._cur(co), self.ch((15, 20, 25, 30, 40, 50, 60, 80, 120)))
        if key == "sites_n":
            return str(co.sites if co else rng.randint(4, 85))
        if key == "sites_small":
            return str(max(1, int(s["sites_n"]) // self.ch((2, 3, 4))))
        if key in ("site", "unit", "thing", "who"):
            return co.words[key] if co else {"site": "sites", "unit": "records",
                                             "thing": "revenue", "who": "analysts"}[key]
        if key == "site_one":
            return s["site"].rstrip("s") if not s["site"].endswith("ches") else s["site"][:-2]
        if key == "who_one":
            w = s["who"]
            return w[:-1] if w.endswith("s") else w
        if key == "sector_pl":
            return co.sector
        if key == "volume":
            v = co.volume if co and rng.random() < 0.8 else rng.randint(3, 900) * 1000
            return "{:,}".format(v)
        if key in ("feature", "feature_short", "feature_cap"):
            f = self.ch(FEATURES)
            s["feature"], s["feature_short"], s["feature_cap"] = f[0], f[1], f[1]
            return s[key]
        if key in ("missing", "missing_short"):
            f = self.ch(MISSING)
            s.setdefault("missing", f[0])
            s.setdefault("missing_short", f[1])
            return s[key]
        if key == "integration":
            return self.ch(INTEGRATIONS)
        if key == "tool":
            return self.ch(TOOLS)
        if key == "event":
            return self.ch(EVENTS)
        if key == "colleague_role":
            others = [q for q in (co.people if co else []) if q is not p and q.tier in
                      ("c", "vp")]
            if others and rng.random() < 0.5:
                q = self.ch(others)
                return "%s (our %s)" % (q.first, q.title)
            return self.ch(COLLEAGUE_ROLES)
        if key in ("day", "day2"):
            lo = 1 if key == "day" else 2
            d = self._future_day(s.t, lo, 6)
            name = WEEKDAYS_LONG[time.gmtime(d).tm_wday]
            if key == "day2" and name == s.get("day", "").split()[-1]:
                d = self._future_day(d, 1, 2)
                name = WEEKDAYS_LONG[time.gmtime(d).tm_wday]
            return self.ch(("", "", "next ", "this ")) + name if d - s.t > 2 * DAY else name
        if key == "day_past":
            return self.ch(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                               "our call", "the demo"))
        if key == "weekday_past":
            return self.ch(("Monday", "Tuesday", "Wednesday", "Thursday", "yesterday",
                               "the weekend", "last week's update"))
        if key == "date":
            d = s.t + rng.randint(6, 45) * DAY
            wd = time.gmtime(d).tm_wday
            if wd >= 5:
                d += (7 - wd) * DAY
            tm = time.gmtime(d)
            return "%s %d" % (MONTHS_LONG[tm.tm_mon - 1], tm.tm_mday)
        if key in ("time", "time2"):
            return self.ch(TIMES)
        if key == "quarter":
            return self.ch(QUARTERS)
        if key == "weeks":
            return str(rng.randint(2, 8))
        if key == "hours":
            return str(rng.randint(4, 30))
        if key == "team_n":
            return str(co.team_n if co else rng.randint(6, 140))
        if key == "dept":
            return self.ch(("finance", "operations", "sales", "marketing", "data",
                               "supply chain", "revenue"))
        if key == "pct":
            return str(rng.randint(8, 40))
        if key == "secs":
            return str(rng.randint(20, 90))
        if key == "n_days":
            return str(rng.randint(3, 12))
        if key == "ticket":
            return str(rng.randint(10000, 99999))
        if key == "invoice":
            return "INV-%d" % rng.randint(2026001, 2026999)
        if key == "data_region":
            return {"de": "EU", "fr": "EU", "nl": "EU", "uk": "UK", "au": "Australian"}.get(
                co.region if co else "", "US")
        if key == "se_first":
            return self.se.first
        if key == "extra":
            return self.ch(PS_EXTRA).format_map(s)
        if key == "issue":
            return str(rng.randint(100, 480))
        if key == "headline":
            return self.ch(HEADLINES)
        raise KeyError(key)

    def _cur(self, co):
        return REGIONS[[r[0] for r in REGIONS].index(co.region)][3] if co else "$"

    def fill(self, tpl, s):
        return tpl.format_map(s) if "{" in tpl else tpl

    def pick(self, pool, s):
        return self.fill(self.ch(pool), s)

    # -- time ---------------------------------------------------------------

    def day_time(self, days_back, tz):
        """A business-hours moment (local time tz) about days_back days before the end."""
        rng = self.rng
        t = self.end - days_back * DAY
        local = t + tz * 60
        midnight = local - local % DAY
        wd = time.gmtime(midnight).tm_wday
        if wd >= 5 and rng.random() < 0.85:
            midnight -= (wd - 4) * DAY
        hour = rng.choices(range(7, 20), (2, 6, 9, 10, 9, 6, 7, 9, 9, 8, 6, 3, 2))[0]
        t = midnight + hour * HOUR + rng.randint(0, 3599) - tz * 60
        if t > self.end - 300:
            t = self.end - rng.randint(300, 4 * HOUR)
        if t < self.start + 60:
            t = self.start + rng.randint(60, 6 * HOUR)
        return t

    def start_time(self, p, lo, hi, skew=1.0, ours=False):
        days = lo + (hi - lo) * (self.rng.random() ** skew)
        return self.day_time(days, TEAM_TZ if ours else p.company.tz)

    def business(self, t, tz, prob):
        """Moves t to the next working morning (local time tz) when it falls in the
        night or a weekend, with probability prob."""
        local = t + tz * 60
        tm = time.gmtime(local)
        if (7 <= tm.tm_hour < 20 and tm.tm_wday < 5) or self.rng.random() >= prob:
            return t
        midnight = local - local % DAY
        if tm.tm_hour >= 20:
            midnight += DAY
        wd = time.gmtime(midnight).tm_wday
        if wd >= 5:
            midnight += (7 - wd) * DAY
        return midnight + 8 * HOUR + self.rng.randint(0, 2 * HOUR) - tz * 60

    def after_ours(self, t):
        """When our team answers a message of time t."""
        t += int(600 + min(self.rng.expovariate(1 / 12000.0), 2 * DAY))
        return self.business(t, TEAM_TZ, 0.9)

    def after_theirs(self, t, p):
        """When contact p answers a message of time t."""
        t += int(1200 + min(self.rng.expovariate(1 / 36000.0), 4 * DAY))
        return self.business(t, p.company.tz, 0.8)

    # -- messages -----------------------------------------------------------

    def new_id(self, domain, t):
        self.seq += 1
        tm = time.gmtime(t)
        return "%04d%02d%02d%02d%02d%02d.%x.%06d@%s" % (
            tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            self.rng.getrandbits(40), self.seq, domain)

    def unique(self, m, make, parent=None, tz=0, outlook=False):
        """Sets the body of m: new text from make(), called again until the whole
        body (with the quote of parent) was not seen before."""
        if parent is not None:
            quote, m.qhead = self.quote(parent, tz, outlook)
        else:
            quote, m.qhead = "", None
        m.parent, m.qoutlook = parent, outlook
        for _ in range(8):
            new = make()
            text = new + quote
            h = hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()
            if h not in self.bodies:
                break
        self.bodies.add(h)
        m.new, m.text = new, text

    def compose_in(self, p, s, parts, mood, named, short_sig=False):
        """An inbound body: greeting, paragraphs from parts, sign-off, signature."""
        rng = self.rng
        greet = self.pick(GREET_NAMED if named else GREET_TEAM, s)
        opener = self.pick({"pos": OPEN_POS, "neu": OPEN_NEU, "neg": OPEN_NEG}[mood], s)
        sents = [self.fill(x, s) if "{" in x else x for x in parts]
        if opener:
            sents.insert(0, opener)
        paras = []
        i = 0
        while i < len(sents):
            n = self.ch((1, 2, 2, 3))
            paras.append(" ".join(x for x in sents[i:i + n] if x))
            i += n
        ps = self.pick(PS_LINES, s) if mood == "pos" else ""
        signoff = self.ch({"pos": SIGNOFF_POS, "neu": SIGNOFF_NEU, "neg": SIGNOFF_NEG}[mood])
        if short_sig:
            sig = "%s\n%s" % (signoff, p.first)
            if p.sig_short:
                sig += "\n\n" + p.sig_short
        elif p.sig.startswith("-- "):
            sig = "%s\n%s\n\n%s" % (signoff, p.first, p.sig)
        else:
            sig = "%s\n%s" % (signoff, p.sig) if rng.random() < 0.6 else \
                "%s\n%s\n\n%s" % (signoff, p.first, p.sig)
        text = "\n\n".join([greet] + [x for x in paras if x])
        if ps:
            text += "\n\n" + ps
        text += "\n\n" + sig
        return wrap(text) if p.wrap else text

    def compose_out(self, m, p, s, parts):
        rng = self.rng
        greet = self.pick(GREET_OUT, s)
        sents = [self.fill(x, s) for x in parts]
        close = self.pick(OUT_CLOSE, s)
        paras = []
        i = 0
        while i < len(sents):
            n = self.ch((1, 2, 2))
            paras.append(" ".join(sents[i:i + n]))
            i += n
        if close:
            paras.append(close)
        signoff = self.ch(SIGNOFF_OUT)
        return "\n\n".join([greet] + paras) + "\n\n%s\n%s\n\n%s" % (signoff, m.first, m.sig)

    def quote(self, parent, replier_tz, outlook):
        """The quoted part of a reply to parent."""
        if outlook:
            tm = time.gmtime(parent.t + replier_tz * 60)
            sent = "%s, %s %d, %d %d:%02d %s" % (
                WEEKDAYS_LONG[tm.tm_wday], MONTHS_LONG[tm.tm_mon - 1], tm.tm_mday, tm.tm_year,
                (tm.tm_hour % 12) or 12, tm.tm_min, "AM" if tm.tm_hour < 12 else "PM")
            head = "From: %s <%s>\nSent: %s\nTo: %s\nSubject: %s" % (
                parent.from_name, parent.from_email, sent, parent.to[0][1], parent.subject)
            return "\n\n________________________________\n" + head + "\n\n" + parent.text, head
        tm = time.gmtime(parent.t + replier_tz * 60)
        style = self.rng.randrange(3)
        if style == 0:
            attrib = "On %s, %s %d, %d at %d:%02d %s %s <%s> wrote:" % (
                WEEKDAYS[tm.tm_wday], MONTHS[tm.tm_mon - 1], tm.tm_mday, tm.tm_year,
                (tm.tm_hour % 12) or 12, tm.tm_min, "AM" if tm.tm_hour < 12 else "PM",
                parent.from_name, parent.from_email)
        elif style == 1:
            attrib = "On %d %s %d, at %02d:%02d, %s <%s> wrote:" % (
                tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year, tm.tm_hour, tm.tm_min,
                parent.from_name, parent.from_email)
        else:
            attrib = "On %s, %s wrote:" % (rfc2822_date(parent.t, replier_tz)[:-6],
                                           parent.from_name.split()[0])
        q = "\n".join(("> " + ln) if ln else ">" for ln in parent.text.split("\n"))
        return "\n\n" + attrib + "\n" + q, attrib

    def add(self, m):
        self.msgs.append(m)

    def msg_in(self, th, p, parts, mood, to_rep, t, subject_kind=None, cc=None, short=False,
               extra=None):
        """A message from contact p. th is the thread (list) it continues, or []."""
        if t > self.end:
            return None
        rng = self.rng
        parent = th[-1] if th else None
        rep = to_rep
        s = Slots(self, t, p, rep)
        m = Msg()
        m.t, m.off, m.inbound, m.person = t, p.company.tz, True, p
        m.from_name, m.from_email, m.hdr_enc = p.name, p.email, p.hdr_enc
        if rep is None:
            m.to = [(self.shared_display, self.own)]
        else:
            m.to = [(rep.display, rep.email)]
        m.cc = cc or []
        if parent is None:
            kind = subject_kind
            if not is_ascii(p.name) and rng.random() < 0.6 and kind in INTL_SUBJECTS:
                subj = self.fill(self.ch(INTL_SUBJECTS[kind]), s)
            else:
                subj = self.pick(SUBJECTS[kind], s)
            m.thread_subject = subj
            m.subject = subj
            m.irt, m.refs = None, []
        else:
            m.thread_subject = parent.thread_subject
            m.subject = self.ch(("Re: ", "Re: ", "Re: ", "RE: ")) + parent.thread_subject
            m.irt = parent.msgid
            m.refs = parent.refs + [parent.msgid]
        m.msgid = self.new_id(p.company.domain, t)
        named = rep is not None and p.greet_named

        self.unique(m, lambda: self.compose_in(p, s, parts, mood, named, short), parent,
                    p.company.tz, p.outlook)
        m.fmt = p.fmt
        m.cte = p.cte
        m.attach = None
        m.extra = extra
        m.env = p.email
        th.append(m)
        self.add(m)
        return m

    def msg_out(self, th, rep, p, parts, t, subject_kind=None, attach=None, cc=None):
        if t > self.end:
            return None
        rng = self.rng
        parent = th[-1] if th else None
        s = Slots(self, t, p, rep)
        m = Msg()
        m.t, m.off, m.inbound, m.person = t, TEAM_TZ, False, p
        m.from_name, m.from_email, m.hdr_enc = rep.name, rep.email, "q"
        m.to = [(p.display, p.email)]
        m.cc = cc or []
        if parent is None:
            subj = self.pick(SUBJECTS[subject_kind], s)
            m.thread_subject = subj
            m.subject = subj
            m.irt, m.refs = None, []
        else:
            m.thread_subject = parent.thread_subject
            m.subject = "Re: " + parent.thread_subject
            m.irt = parent.msgid
            m.refs = parent.refs + [parent.msgid]
        m.msgid = self.new_id("mail." + self.own_domain, t)
        m.attach = None
        if attach:
            parts = list(parts) + [attach[2]]
            m.attach = attach

        self.unique(m, lambda: self.compose_out(rep, p, s, parts), parent, TEAM_TZ, False)
        m.fmt = rep.fmt
        m.cte = "quoted-printable"
        m.extra = None
        m.env = rep.email
        th.append(m)
        self.add(m)
        return m

    def proposal_attachment(self, p, t):
        """Decides whether our pricing reply carries a PDF proposal: the first one
        does, then one in fifty, at most one per 250 messages."""
        if t > self.end:
            return None
        if self.attached >= 1 and (self.rng.random() >= 0.02 or
                                   self.attached >= max(2, self.count // 250)):
            return None
        self.attached += 1
        co = p.company
        tm = time.gmtime(t)
        fname = "%s_Proposal_%s.pdf" % (slug(OUR_COMPANY).title().replace("-", "_"),
                                        slug(co.name).title().replace("-", ""))
        pdf = make_pdf("%s - Proposal for %s" % (OUR_COMPANY, co.name),
                       ["Prepared for %s, %s" % (p.name, p.title),
                        "Date: %d %s %d" % (tm.tm_mday, MONTHS_LONG[tm.tm_mon - 1], tm.tm_year),
                        "Plan: Enterprise, annual billing",
                        "Includes onboarding, SSO and a dedicated success manager",
                        "Valid for 30 days"])
        return (fname, pdf, "I've attached our proposal as a PDF.")

    # -- threads ------------------------------------------------------------

    def others(self, p):
        return [q for q in p.company.people if q is not p]

    def cc_colleague(self, p, prob):
        o = self.others(p)
        if o and self.rng.random() < prob:
            q = self.ch(o)
            return [(q.display, q.email)]
        return []

    def thread_hot(self, p, variant, lo=0.0, hi=13.0):
        rng = self.rng
        rep = p.rep
        th = []
        t = self.start_time(p, lo, hi, 1.6)
        if variant == 0:  # pricing
            first = self.msg_in(th, p, self.mix(CONTEXT, 1, PRICING, 2, POSITIVE, 1), "pos",
                                None if rng.random() < 0.5 else rep, t, "pricing",
                                cc=self.cc_colleague(p, 0.3))
            if not first:
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_PRICING, 2, OUT_MEETING, 1), t,
                         attach=self.proposal_attachment(p, t))
            t = self.after_theirs(t, p)
            self.msg_in(th, p, self.mix(POSITIVE, 1, MEETING, 1, NEXT_STEPS, 1), "pos", rep, t,
                        short=rng.random() < 0.3)
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_MEETING, 1, OUT_CONTRACT, 1), t)
            if rng.random() < 0.7:
                t = self.after_theirs(t, p)
                self.msg_in(th, p, self.mix(CONFIRM, 1, PRICING, 1), "pos", rep, t,
                            short=rng.random() < 0.4)
        elif variant == 1:  # demo
            first = self.msg_in(th, p, self.mix(CONTEXT, 1, MEETING, 1, QUESTION, 1), "pos",
                                None if rng.random() < 0.6 else rep, t, "demo")
            if not first:
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_MEETING, 1, OUT_DEMO_PREP, 1), t)
            t = self.after_theirs(t, p)
            self.msg_in(th, p, self.mix(CONFIRM, 1, POSITIVE, 1), "pos", rep, t,
                        short=rng.random() < 0.3)
            if rng.random() < 0.6:
                t = self.after_ours(t)
                self.msg_out(th, rep, p, self.mix(OUT_RECAP, 1, OUT_ANSWER, 1), t)
        elif variant == 2:  # contract
            first = self.msg_in(th, p, self.mix(POSITIVE, 1, CONTRACT, 2, PRICING, 1), "pos",
                                rep, t, "contract", cc=self.cc_colleague(p, 0.4))
            if not first:
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_CONTRACT, 2), t)
            t = self.after_theirs(t, p)
            self.msg_in(th, p, self.mix(THANKS, 1, NEXT_STEPS, 1, CONTRACT, 1), "pos", rep, t)
        else:  # our recap after a demo, they answer keen
            t = self.business(t, TEAM_TZ, 1.0)
            self.msg_out(th, rep, p, self.mix(OUT_RECAP, 2, OUT_PRICING, 1), t, "recap")
            t = self.after_theirs(t, p)
            self.msg_in(th, p, self.mix(POSITIVE, 1, PRICING, 1, NEXT_STEPS, 1), "pos", rep, t)
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_PRICING, 1, OUT_CONTRACT, 1), t,
                         attach=self.proposal_attachment(p, t))

    def thread_warm(self, p, variant, lo=0.0, hi=24.0):
        rng = self.rng
        rep = p.rep
        th = []
        t = self.start_time(p, lo, hi, 1.1)
        mood = "pos" if rng.random() < 0.6 else "neu"
        if variant == 0:  # question
            if not self.msg_in(th, p, self.mix(CONTEXT, 1, QUESTION, 2), mood,
                               None if rng.random() < 0.5 else rep, t, "question"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_ANSWER, 2), t)
            if rng.random() < 0.7:
                t = self.after_theirs(t, p)
                self.msg_in(th, p, self.mix(THANKS, 1, QUESTION, 1) if rng.random() < 0.5 else
                            self.mix(THANKS, 1, EVALUATING, 1), mood, rep, t,
                            short=rng.random() < 0.3)
        elif variant == 1:  # demo later
            if not self.msg_in(th, p, self.mix(CONTEXT, 1, MEETING, 1), mood, None, t, "demo"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_MEETING, 1), t)
            t = self.after_theirs(t, p)
            self.msg_in(th, p, self.mix(CONFIRM, 1) if rng.random() < 0.6 else
                        self.mix(EVALUATING, 1, MEETING, 1), mood, rep, t, short=True)
        elif variant == 2:  # pricing, undecided
            if not self.msg_in(th, p, self.mix(PRICING, 1, CONTEXT, 1), "neu", None, t,
                               "pricing"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_PRICING, 2), t)
            if rng.random() < 0.6:
                t = self.after_theirs(t, p)
                self.msg_in(th, p, self.mix(EVALUATING, 1, THANKS, 1), "neu", rep, t)
        else:  # our check-in, they answer
            t = self.business(t, TEAM_TZ, 1.0)
            self.msg_out(th, rep, p, self.mix(OUT_CHECKIN, 2), t, "checkin")
            t = self.after_theirs(t, p)
            self.msg_in(th, p, self.mix(EVALUATING, 1, QUESTION, 1), mood, rep, t)

    def thread_neutral(self, p, lo=0.0, hi=29.0):
        rng = self.rng
        rep = p.rep
        th = []
        t = self.start_time(p, lo, hi, 1.0)
        v = rng.randrange(3)
        if v == 0:
            if not self.msg_in(th, p, self.mix(QUESTION, 1, GENERAL_MORE, 1), "neu", None, t,
                               "question"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_ANSWER, 1), t)
        elif v == 1:
            t = self.business(t, TEAM_TZ, 1.0)
            self.msg_out(th, self.team["leo"], p, self.mix(OUT_OUTREACH, 3), t, "outreach")
            t = self.after_theirs(t, p) + DAY
            self.msg_in(th, p, self.mix(EVALUATING, 1), "neu", self.team["leo"], t, short=True)
        else:
            if not self.msg_in(th, p, self.mix(FOLLOW_UP, 1, QUESTION, 1), "neu", rep, t,
                               "followup"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_ANSWER, 1, OUT_CHECKIN, 1), t)

    def thread_cold(self, p):
        rng = self.rng
        th = []
        v = rng.randrange(3)
        t = self.start_time(p, 19.0, 29.8, 1.0)
        if v == 0:  # one old hello
            self.msg_in(th, p, self.mix(GENERAL, 1, GENERAL_MORE, 1), "neu", None, t, "general")
            if rng.random() < 0.5:
                self.msg_out(th, p.rep, p, self.mix(OUT_OUTREACH, 2), self.after_ours(t))
        elif v == 1:  # our outreach, an out-of-office answers
            t = self.business(t, TEAM_TZ, 1.0)
            leo = self.team["leo"]
            first = self.msg_out(th, leo, p, self.mix(OUT_OUTREACH, 3), t, "outreach")
            self.out_of_office(th, p, first, t + rng.randint(5, 90))
        else:  # outreach nobody answered, then a nudge
            t = self.business(t, TEAM_TZ, 1.0)
            leo = self.team["leo"]
            self.msg_out(th, leo, p, self.mix(OUT_OUTREACH, 3), t, "outreach")
            if rng.random() < 0.6:
                t = self.business(t + rng.randint(4, 8) * DAY, TEAM_TZ, 1.0)
                self.msg_out(th, leo, p, self.mix(OUT_NUDGE, 1, OUT_OUTREACH, 1), t)

    def out_of_office(self, th, p, parent, t):
        rng = self.rng
        if t > self.end or parent is None:
            return
        s = Slots(self, t, p, None)
        back = self.fill("{date}", s)
        o = self.others(p)
        alt = ("%s (%s)" % (o[0].name, o[0].email)) if o else "my colleagues at " + \
            p.company.name
        m = Msg()
        m.t, m.off, m.inbound, m.person = t, p.company.tz, True, p
        m.from_name, m.from_email, m.hdr_enc = p.name, p.email, p.hdr_enc
        m.to = [(fmt_addr(parent.from_name, parent.from_email), parent.from_email)]
        m.cc = []
        m.thread_subject = parent.thread_subject
        m.subject = self.ch(("Automatic reply: ", "Out of Office: ", "Auto: ")) + \
            parent.thread_subject
        m.irt, m.refs = parent.msgid, parent.refs + [parent.msgid]
        m.msgid = self.new_id(p.company.domain, t)
        text = self.ch([
            "Thank you for your email. I am out of the office until %s with limited access to "
            "email. For urgent matters please contact %s.",
            "Hi, I'm currently on leave and will be back on %s. Your message will not be "
            "forwarded; for anything urgent, reach %s.",
            "I'm away until %s. I'll reply when I'm back. If it can't wait, please contact %s.",
        ]) % (back, alt)
        self.unique(m, lambda: text + "\n\n" + p.name + "\n" + p.company.name)
        m.fmt, m.cte, m.attach = "plain", p.cte, None
        m.extra = [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")]
        m.env = p.email
        th.append(m)
        self.add(m)

    def thread_customer(self, p, variant, lo=0.0, hi=29.5):
        rng = self.rng
        rep = p.rep
        th = []
        t = self.start_time(p, lo, hi, 1.0)
        if variant == 0:  # how-to question
            if not self.msg_in(th, p, self.mix(QUESTION, self.ch((1, 2))), "neu", rep, t,
                               "question"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_ANSWER, 2), t)
            if rng.random() < 0.6:
                t = self.after_theirs(t, p)
                self.msg_in(th, p, self.mix(THANKS, 1), "pos", rep, t, short=True)
        elif variant == 1:  # feature request
            if not self.msg_in(th, p, self.mix(POSITIVE, 1, FEATURE_REQ, 2), "pos", rep, t,
                               "feature"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_FEATURE, 2), t)
        elif variant == 2:  # follow-up on an open request
            if not self.msg_in(th, p, self.mix(FOLLOW_UP, 1, FEATURE_REQ, 1), "neu", rep, t,
                               "followup"):
                return
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_FEATURE, 1, OUT_ANSWER, 1), t)
            if rng.random() < 0.4:
                t = self.after_theirs(t, p)
                self.msg_in(th, p, self.mix(FOLLOW_UP, 1), "neu", rep, t, short=True)
        else:  # renewal
            t = self.business(t, TEAM_TZ, 1.0)
            self.msg_out(th, rep, p, self.mix(OUT_RENEWAL, 2), t, "renewal")
            t = self.after_theirs(t, p)
            self.msg_in(th, p, self.mix(QUESTION, 1, PRICING, 1), "neu", rep, t)
            t = self.after_ours(t)
            self.msg_out(th, rep, p, self.mix(OUT_PRICING, 1, OUT_ANSWER, 1), t)

    def thread_unhappy(self, p, lo=0.0, hi=22.0):
        rng = self.rng
        rep = p.rep
        th = []
        t = self.start_time(p, lo, hi, 1.2)
        to = rep if rng.random() < 0.7 else None
        if not self.msg_in(th, p, self.mix(COMPLAINT, 2, COMPLAINT_ESCALATE, 1), "neg", to, t,
                           "complaint", cc=self.cc_colleague(p, 0.3)):
            return
        t = self.after_ours(t)
        self.msg_out(th, rep, p, self.mix(OUT_APOLOGY, 2), t)
        t = self.after_theirs(t, p)
        self.msg_in(th, p, self.mix(COMPLAINT_AGAIN, 1, COMPLAINT_ESCALATE, 1), "neg", rep, t)
        t = self.after_ours(t)
        self.msg_out(th, rep, p, self.mix(OUT_FIXED, 2), t)
        if rng.random() < 0.5:
            t = self.after_theirs(t, p)
            if rng.random() < 0.5:
                self.msg_in(th, p, self.mix(COMPLAINT_AGAIN, 1), "neg", rep, t, short=True)
            else:
                self.msg_in(th, p, self.mix(THANKS, 1), "neu", rep, t, short=True)

    def mix(self, *pools):
        """Templates: n from each (pool, n) pair, in order."""
        rng = self.rng
        out = []
        for i in range(0, len(pools), 2):
            pool, n = pools[i], pools[i + 1]
            if n == 1:
                out.append(self.ch(pool))
            else:
                out.extend(rng.sample(pool, min(n, len(pool))))
        return out

    def base_threads(self, p):
        rng = self.rng
        a = p.arch
        if a == "hot":
            vs = rng.sample(range(4), self.ch((2, 3, 3)))
            for v in vs:
                self.thread_hot(p, v)
        elif a == "warm":
            for v in rng.sample(range(4), self.ch((1, 2, 2))):
                self.thread_warm(p, v)
        elif a == "neutral":
            self.thread_neutral(p)
        elif a == "cold":
            self.thread_cold(p)
        elif a == "customer":
            for v in rng.sample(range(4), self.ch((1, 1, 2))):
                self.thread_customer(p, v)
        elif a == "unhappy":
            self.thread_unhappy(p)
            if rng.random() < 0.4:
                self.thread_customer(p, 2)

    def extra_thread(self, p):
        rng = self.rng
        a = p.arch
        if a == "hot":
            self.thread_hot(p, rng.randrange(4), 0.0, 20.0)
        elif a == "warm":
            self.thread_warm(p, rng.randrange(4), 0.0, 29.0)
        elif a == "neutral":
            self.thread_neutral(p)
        elif a == "customer":
            self.thread_customer(p, rng.randrange(4))
        elif a == "unhappy":
            if rng.random() < 0.5:
                self.thread_unhappy(p, 0.0, 29.0)
            else:
                self.thread_customer(p, self.ch((0, 2)))

    def newsletter(self, t, k):
        rng = self.rng
        sender = NEWSLETTERS[k % len(NEWSLETTERS)] if k < len(NEWSLETTERS) else \
            self.ch(NEWSLETTERS)
        name, email, subj_t = sender
        s = Slots(self, t, None, None)
        m = Msg()
        m.t, m.off, m.inbound, m.person = t, 0, True, None
        m.from_name, m.from_email, m.hdr_enc = name, email, "q"
        if rng.random() < 0.6:
            m.to = [(self.shared_display, self.own)]
        else:
            mem = self.ch(list(self.team.values()))
            m.to = [(mem.display, mem.email)]
        m.cc = []
        m.subject = m.thread_subject = self.fill(subj_t, s)
        m.irt, m.refs = None, []
        m.msgid = self.new_id(email.split("@")[1], t)
        heads = rng.sample(HEADLINES, 3)

        def make():
            lines = ["In this issue:", ""]
            for h in heads:
                lines.append("* %s%s" % (h[0].upper(), h[1:]))
            lines += ["", self.ch([
                "Plus: the %d charts our readers shared most this month." % rng.randint(3, 12),
                "Reply to this email to tell us what you'd like to read next.",
                "Forward this to a colleague who would enjoy it.",
                "Our next live session is on %s." % self.fill("{date}", s)]),
                "", "You are receiving this because you subscribed at %s." % email.split("@")[1],
                "Unsubscribe: https://%s/u/%x" % (email.split("@")[1], rng.getrandbits(48))]
            return "\n".join(lines)
        self.unique(m, make)
        m.fmt, m.cte, m.attach = "alt", "quoted-printable", None
        dom = email.split("@")[1]
        m.extra = [("List-Unsubscribe", "<https://%s/unsubscribe>" % dom),
                   ("List-Id", "%s <news.%s>" % (name, dom)), ("Precedence", "bulk")]
        m.env = "bounce-%d@%s" % (rng.randint(1000, 9999), dom)
        self.add(m)

    # -- the whole mailbox ----------------------------------------------------

    def generate(self):
        rng = self.rng
        n_noise = max(1, round(self.count * 0.04))
        for k in range(n_noise):
            self.newsletter(self.day_time(rng.uniform(0.05, 29.9), 0), k)
        for p in self.people:
            if len(self.msgs) >= self.count:
                break
            self.base_threads(p)
        weights = {"hot": 3.0, "warm": 1.5, "neutral": 0.5, "cold": 0.0, "customer": 1.5,
                   "unhappy": 1.0}
        active = [p for p in self.people if weights[p.arch] > 0]
        if not active:
            active = self.people
        w = [weights[p.arch] or 1.0 for p in active]
        cum = []
        acc = 0.0
        for x in w:
            acc += x
            cum.append(acc)
        stall = 0
        while len(self.msgs) < self.count and stall < 1000:
            before = len(self.msgs)
            p = rng.choices(active, cum_weights=cum)[0]
            self.extra_thread(p)
            stall = stall + 1 if len(self.msgs) == before else 0
        # A thread may overshoot: drop the newest messages of the last threads.
        if len(self.msgs) > self.count:
            del self.msgs[self.count:]
        self.msgs.sort(key=lambda m: (m.t, m.msgid))

    # -- rendering ------------------------------------------------------------

    def render(self, m):
        rng = self.rng
        h = []
        if m.inbound and m.person is not None:
            from_hdr = m.person.display
        else:
            from_hdr = fmt_addr(m.from_name, m.from_email, m.hdr_enc)
        if m.inbound and m.person is not None:
            h.append("Received: from mail.%s (mail.%s [192.0.2.%d])\n\tby mx.%s with ESMTPS; "
                     "%s" % (m.person.company.domain, m.person.company.domain,
                             1 + (m.person.uid % 250), self.own_domain,
                             rfc2822_date(m.t + 2, 0)))
        h.append("From: " + from_hdr)
        h.append("To: " + ", ".join(a for a, _ in m.to))
        if m.cc:
            h.append("Cc: " + ", ".join(a for a, _ in m.cc))
        h.append("Subject: " + fmt_subject(m.subject))
        h.append("Date: " + rfc2822_date(m.t, m.off))
        h.append("Message-ID: <%s>" % m.msgid)
        if m.irt:
            h.append("In-Reply-To: <%s>" % m.irt)
            refs = m.refs[-10:] if len(m.refs) > 10 else m.refs
            h.append("References: " + "\n ".join("<%s>" % r for r in refs))
        if m.extra:
            for k, v in m.extra:
                h.append("%s: %s" % (k, v))
        h.append("MIME-Version: 1.0")

        text = m.text
        ascii_text = text.isascii()
        fmt = m.fmt
        if fmt == "plain":
            ct, cte, payload = self.text_part(text, "plain", m.cte, ascii_text)
            main = (ct, cte, payload)
        elif fmt == "html":
            html = self.to_html(text, m)
            ct, cte, payload = self.text_part(html, "html",
                                              "base64" if (m.person and m.person.outlook)
                                              else m.cte, html.isascii())
            main = (ct, cte, payload)
        else:
            html = self.to_html(text, m)
            b = "000000000000%012x" % rng.getrandbits(48)
            p1 = self.text_part(text, "plain", m.cte, ascii_text)
            p2 = self.text_part(html, "html", m.cte, html.isascii())
            body_parts = [p1, p2]
            main = ('multipart/alternative; boundary="%s"' % b, None,
                    self.multipart(b, body_parts))
        if m.attach:
            fname, data, _ = m.attach
            b = "----=_Part_%d_%d" % (self.seq_render(), rng.randint(10 ** 8, 10 ** 9))
            att = ('application/pdf; name="%s"' % fname, "base64", b64_lines(data),
                   'attachment; filename="%s"' % fname)
            h.append('Content-Type: multipart/mixed; boundary="%s"' % b)
            body = "This is a multi-part message in MIME format.\n\n" + \
                self.multipart(b, [main, att])
        else:
            h.append("Content-Type: " + main[0])
            if main[1]:
                h.append("Content-Transfer-Encoding: " + main[1])
            body = main[2]
        if m.parent is not None:
            m.parent.html = None
        return "\n".join(h) + "\n\n" + body

    _rseq = 0

    def seq_render(self):
        self._rseq += 1
        return self._rseq

    def multipart(self, b, parts):
        out = []
        for part in parts:
            ct, cte, payload = part[0], part[1], part[2]
            hdr = "--%s\nContent-Type: %s\n" % (b, ct)
            if cte:
                hdr += "Content-Transfer-Encoding: %s\n" % cte
            if len(part) > 3:
                hdr += "Content-Disposition: %s\n" % part[3]
            out.append(hdr + "\n" + payload + "\n")
        return "".join(out) + "--%s--\n" % b

    def text_part(self, text, sub, cte, ascii_text):
        ct = 'text/%s; charset="UTF-8"' % sub if not ascii_text or sub == "html" or \
            self.rng.random() < 0.7 else "text/%s; charset=us-ascii" % sub
        if ascii_text and cte != "base64":
            return ct, "7bit", text if text.endswith("\n") else text + "\n"
        if cte == "base64":
            return ct, "base64", b64_lines(text.encode("utf-8")) + "\n"
        if cte == "8bit":
            return ct, "8bit", text if text.endswith("\n") else text + "\n"
        return ct, "quoted-printable", qp_encode(text if text.endswith("\n") else text + "\n")

    @staticmethod
    def paras_html(text):
        return "\n".join("<p>" + html_escape(x).replace("\n", "<br>\n") + "</p>"
                         for x in text.split("\n\n") if x.strip())

    def html_inner(self, m):
        """The HTML of a body: its new text, then the quoted parent (itself in HTML).
        Kept on m until its reply (threads are chains) is rendered."""
        if m.html is not None:
            return m.html
        m.html = self._html_inner(m)
        return m.html

    def _html_inner(self, m):
        out = self.paras_html(m.new)
        if m.parent is None:
            return out
        if m.qoutlook:
            head = "<br>\n".join("<b>%s</b>%s" % (html_escape(k) + ":", html_escape(v))
                                  for k, v in (ln.split(":", 1) for ln in m.qhead.split("\n")))
            return (out + '\n<div style="border:none;border-top:solid #E1E1E1 1.0pt;'
                    'padding:3.0pt 0in 0in 0in">\n<p>' + head + "</p>\n</div>\n" +
                    self.html_inner(m.parent))
        return (out + '\n<div class="gmail_quote"><div class="gmail_attr">' +
                html_escape(m.qhead) + '</div>\n<blockquote class="gmail_quote" '
                'style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">\n' +
                self.html_inner(m.parent) + "\n</blockquote></div>")

    def to_html(self, text, m):
        """HTML for the body of m, dressed like the mail client that sent it."""
        inner = self.html_inner(m)
        if m.person is None and m.inbound:
            head = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>%s</title></head>'
                    '\n<body style="font-family:Arial,sans-serif">\n<table width="600"><tr><td>\n'
                    % html_escape(m.subject))
            return head + inner + "\n</td></tr></table>\n</body></html>\n"
        if m.person is not None and m.inbound and m.person.outlook:
            return ('<html><head><meta http-equiv="Content-Type" content="text/html; '
                    'charset=utf-8"></head><body lang="EN-US">\n<div class="WordSection1">\n' +
                    inner + "\n</div>\n</body></html>\n")
        return '<div dir="ltr">\n' + inner + "\n</div>\n"

    def write(self, fh):
        esc = re.compile(r"(?m)^(>*From )")
        total = 0
        for m in self.msgs:
            raw = self.render(m)
            if "From " in raw:
                raw = esc.sub(r">\1", raw)
            chunk = "From %s %s\n%s\n" % (m.env, asctime_utc(m.t), raw)
            if not raw.endswith("\n"):
                chunk = chunk[:-1] + "\n\n"
            fh.write(chunk)
            total += len(chunk) if chunk.isascii() else len(chunk.encode("utf-8"))
        return total


# ---------------------------------------------------------------------------
# Checking a mailbox
# ---------------------------------------------------------------------------

def check(path, own, expect=None):
    import mailbox
    import email.policy
    from email.utils import parseaddr
    own_domain = own.lower().split("@", 1)[1]
    box = mailbox.mbox(path, factory=None, create=False)
    n = 0
    ids = set()
    dup = 0
    missing = 0
    inbound = outbound = 0
    contacts = set()
    companies = set()
    html_only = alt = qp = attach = encoded_from = replies = 0
    dates = []
    problems = []
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        n += 1
        for hname in ("From", "To", "Date", "Message-ID", "Subject", "MIME-Version",
                      "Content-Type"):
            if msg[hname] is None:
                missing += 1
                if len(problems) < 5:
                    problems.append("message %d has no %s" % (n, hname))
        mid = str(msg["Message-ID"]).strip()
        if mid in ids:
            dup += 1
        ids.add(mid)
        raw_from = msg.get("From", "")
        if re.search(rb"(?m)^From: =\?UTF-8\?[QB]\?", raw.split(b"\n\n", 1)[0]):
            encoded_from += 1
        _, addr = parseaddr(str(raw_from))
        addr = addr.lower()
        dom = addr.split("@")[-1]
        if dom == own_domain:
            outbound += 1
        else:
            inbound += 1
            if msg["List-Id"] is None:
                contacts.add(addr)
                companies.add(dom)
        if msg["In-Reply-To"]:
            replies += 1
        d = msg["Date"].datetime if msg["Date"] is not None else None
        if d is not None:
            dates.append(d.timestamp())
        ct = msg.get_content_type()
        if ct == "text/html":
            html_only += 1
        types = [part.get_content_type() for part in msg.walk()]
        if "multipart/alternative" in types:
            alt += 1
        for part in msg.walk():
            if part.get("Content-Transfer-Encoding", "").lower() == "quoted-printable":
                qp += 1
                break
        for part in msg.walk():
            if part.get_content_disposition() == "attachment":
                attach += 1
                data = part.get_payload(decode=True)
                if not data.startswith(b"%PDF-"):
                    problems.append("attachment of message %d is not a PDF" % n)
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is None or not body.get_content().strip():
            problems.append("message %d has no readable body" % n)
    print("messages: %d" % n)
    if expect is not None and n != expect:
        problems.append("expected %d messages, found %d" % (expect, n))
    print("unique Message-IDs: %d (duplicates %d)" % (len(ids), dup))
    print("missing required headers: %d" % missing)
    print("inbound: %d, outbound (from @%s): %d, replies (In-Reply-To): %d" %
          (inbound, own_domain, outbound, replies))
    print("contacts who wrote: %d, at companies: %d (newsletters left out)" %
          (len(contacts), len(companies)))
    print("multipart/alternative: %d, HTML only: %d, quoted-printable: %d, RFC 2047 From: %d, "
          "PDF attachments: %d" % (alt, html_only, qp, encoded_from, attach))
    if dates:
        fmt = "%Y-%m-%d %H:%M"
        print("dates: %s .. %s UTC" % (
            datetime.fromtimestamp(min(dates), timezone.utc).strftime(fmt),
            datetime.fromtimestamp(max(dates), timezone.utc).strftime(fmt)))
    if dup or missing:
        problems.append("duplicate ids or missing headers")
    for pr in problems[:20]:
        print("PROBLEM: " + pr)
    return 0 if not problems else 1


# ---------------------------------------------------------------------------

def parse_end(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    d = datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return int(d.timestamp())


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate a realistic sample sales mailbox (mbox).")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help="number of messages")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    ap.add_argument("--out", default="-", help="output file (default: stdout)")
    ap.add_argument("--own-address", default=DEFAULT_OWN, help="the sales team's address")
    ap.add_argument("--end-date", default=DEFAULT_END,
                    help="date of the newest message, ISO 8601 (default %s)" % DEFAULT_END)
    ap.add_argument("--check", metavar="FILE",
                    help="parse FILE back, print a summary and exit (1 on a problem)")
    ap.add_argument("--summary", action="store_true",
                    help="print what was generated on stderr")
    args = ap.parse_args(argv)
    if "@" not in args.own_address:
        ap.error("--own-address must be an email address")
    if args.check:
        return check(args.check, args.own_address,
                     args.count if "--count" in (argv or sys.argv) else None)
    if args.count < 1:
        ap.error("--count must be at least 1")
    t0 = time.time()
    gc.disable()  # many small objects, no cycles worth collecting: the collector only costs time
    g = Generator(args.count, args.seed, args.own_address, parse_end(args.end_date))
    g.generate()
    if args.out == "-":
        out = sys.stdout
        out.reconfigure(newline="\n", encoding="utf-8")
        try:
            size = g.write(out)
            out.flush()
        except BrokenPipeError:  # a reader such as head(1) stopped early
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            return 1
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
            size = g.write(fh)
    if args.summary:
        arch = {}
        for p in g.people:
            arch[p.arch] = arch.get(p.arch, 0) + 1
        n_in = sum(1 for m in g.msgs if m.inbound)
        print("generated %d messages (%d inbound, %d outbound), %d contacts at %d companies, "
              "%s; %d bytes in %.1f s" % (len(g.msgs), n_in, len(g.msgs) - n_in, len(g.people),
                                          len(g.companies),
                                          ", ".join("%s %d" % kv for kv in sorted(arch.items())),
                                          size, time.time() - t0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
