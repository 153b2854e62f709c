#!/usr/bin/env python3
"""Generate assets/demo-users.json: ~200 demo Logto users.

The output is shaped like the body of Logto's Management API
`GET /api/users` response (a JSON array of user objects).  It is the
"friendly" demo set for custodian: realistic, international, no secrets,
no control characters, nothing that needs a JSON escape sequence.

Standard library only and fully deterministic (fixed seed, no set or hash
ordering, no clock): running it again rewrites demo-users.json
byte-identically.

    python3 assets/make-demo-users.py
"""

import hashlib
import json
import os
import random
import unicodedata

SEED = 20240917
N_USERS = 200

TS_MIN = 1640995200000  # 2022-01-01T00:00:00Z
TS_MAX = 1793491200000  # 2026-11-01T00:00:00Z

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo-users.json")

rng = random.Random(SEED)

# ---------------------------------------------------------------------------
# Name pools.  Each locale: (locale, family_first, separator,
#   [(given, romanised given)], [(family, romanised family)], phone_prefix)
# Romanised forms are used for usernames and e-mail addresses.
# ---------------------------------------------------------------------------

LOCALES = [
    ("en-US", False, " ",
     [("Amelia", None), ("James", None), ("Olivia", None), ("Noah", None), ("Emma", None),
      ("Liam", None), ("Ava", None), ("Ethan", None), ("Harper", None), ("Mason", None),
      ("Grace", None), ("Caleb", None), ("Chloe", None), ("Jordan", None), ("Riley", None)],
     [("Johnson", None), ("Smith", None), ("Carter", None), ("Nguyen", None), ("Brooks", None),
      ("Bennett", None), ("Hayes", None), ("Foster", None), ("Reed", None), ("Coleman", None),
      ("Doe", None), ("Patel", None), ("Ramirez", None), ("O'Neill", "oneill")]),
    ("en-GB", False, " ",
     [("Oliver", None), ("Isla", None), ("George", None), ("Poppy", None), ("Harry", None),
      ("Freya", None), ("Alfie", None), ("Imogen", None)],
     [("Thompson", None), ("Walker", None), ("Wright", None), ("Hughes", None), ("Edwards", None),
      ("Clarke", None), ("Ashworth", None)]),
    ("de-DE", False, " ",
     [("Zoë", "zoe"), ("Jürgen", "juergen"), ("Lena", None), ("Lukas", None), ("Anja", None),
      ("Matthias", None), ("Sören", "soeren"), ("Greta", None), ("Jonas", None), ("Käthe", "kaethe")],
     [("Müller", "mueller"), ("Schröder", "schroeder"), ("Weiß", "weiss"), ("Becker", None),
      ("Hoffmann", None), ("Schäfer", "schaefer"), ("Krüger", "krueger"), ("Vogel", None)]),
    ("fr-FR", False, " ",
     [("Amélie", "amelie"), ("François", "francois"), ("Chloé", "chloe"), ("Théo", "theo"),
      ("Léa", "lea"), ("Hélène", "helene"), ("Étienne", "etienne"), ("Manon", None)],
     [("Lefèvre", "lefevre"), ("Dubois", None), ("Moreau", None), ("Girard", None),
      ("Bonnaire", None), ("Rousseau", None), ("Fournier", None)]),
    ("es-ES", False, " ",
     [("José", "jose"), ("María", "maria"), ("Lucía", "lucia"), ("Andrés", "andres"),
      ("Sofía", "sofia"), ("Javier", None), ("Íñigo", "inigo"), ("Carmen", None)],
     [("Álvarez", "alvarez"), ("García", "garcia"), ("Muñoz", "munoz"), ("Fernández", "fernandez"),
      ("Ortega", None), ("Castaño", "castano"), ("Ibáñez", "ibanez")]),
    ("pt-BR", False, " ",
     [("João", "joao"), ("Beatriz", None), ("Thiago", None), ("Letícia", "leticia"),
      ("Gonçalo", "goncalo"), ("Camila", None)],
     [("Conceição", "conceicao"), ("Araújo", "araujo"), ("Gonçalves", "goncalves"),
      ("Ribeiro", None), ("Magalhães", "magalhaes")]),
    ("pl-PL", False, " ",
     [("Łukasz", "lukasz"), ("Agnieszka", None), ("Paweł", "pawel"), ("Małgorzata", "malgorzata"),
      ("Krzysztof", None), ("Zofia", None)],
     [("Wiśniewski", "wisniewski"), ("Kowalczyk", None), ("Wójcik", "wojcik"),
      ("Zieliński", "zielinski"), ("Szymańska", "szymanska")]),
    ("da-DK", False, " ",
     [("Søren", "soren"), ("Freja", None), ("Mads", None), ("Ida", None), ("Bjørn", "bjorn"),
      ("Astrid", None)],
     [("Kierkegaard", None), ("Sørensen", "sorensen"), ("Mølgaard", "molgaard"), ("Nielsen", None),
      ("Jørgensen", "jorgensen")]),
    ("hu-HU", False, " ",
     [("Amelia", None), ("Bence", None), ("Réka", "reka"), ("Dániel", "daniel"), ("Zsófia", "zsofia")],
     [("Kovács", "kovacs"), ("Szabó", "szabo"), ("Tóth", "toth"), ("Horváth", "horvath")]),
    ("sv-SE", False, " ",
     [("Åsa", "asa"), ("Linnéa", "linnea"), ("Björn", "bjorn"), ("Elsa", None), ("Oskar", None)],
     [("Öberg", "oberg"), ("Lindqvist", None), ("Ekström", "ekstrom"), ("Håkansson", "hakansson")]),
    ("fi-FI", False, " ",
     [("Mika", None), ("Aino", None), ("Väinö", "vaino"), ("Eveliina", None)],
     [("Tuominen", None), ("Mäkinen", "makinen"), ("Järvinen", "jarvinen"), ("Virtanen", None)]),
    ("vi-VN", True, " ",
     [("Văn An", "an"), ("Thị Mai", "mai"), ("Minh Đức", "duc"), ("Thu Hà", "ha"),
      ("Quốc Bảo", "bao"), ("Ngọc Lan", "lan")],
     [("Nguyễn", "nguyen"), ("Trần", "tran"), ("Lê", "le"), ("Phạm", "pham"), ("Hoàng", "hoang")]),
    ("ja-JP", True, " ",
     [("太郎", "taro"), ("花子", "hanako"), ("健太", "kenta"), ("美咲", "misaki"), ("翔太", "shota"),
      ("陽菜", "hina"), ("大輔", "daisuke")],
     [("山田", "yamada"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"),
      ("田中", "tanaka"), ("渡辺", "watanabe")]),
    ("zh-CN", True, "",
     [("伟", "wei"), ("芳", "fang"), ("秀英", "xiuying"), ("磊", "lei"), ("静", "jing"), ("子涵", "zihan")],
     [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen")]),
    ("ko-KR", True, "",
     [("민준", "minjun"), ("서연", "seoyeon"), ("지호", "jiho"), ("하은", "haeun")],
     [("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi")]),
    ("ru-RU", False, " ",
     [("Ольга", "olga"), ("Дмитрий", "dmitry"), ("Анна", "anna"), ("Сергей", "sergey"),
      ("Наталья", "natalya"), ("Алексей", "alexey")],
     [("Иванова", "ivanova"), ("Петров", "petrov"), ("Смирнова", "smirnova"), ("Кузнецов", "kuznetsov"),
      ("Соколова", "sokolova")]),
    ("uk-UA", False, " ",
     [("Олена", "olena"), ("Тарас", "taras"), ("Ірина", "iryna"), ("Богдан", "bohdan")],
     [("Шевченко", "shevchenko"), ("Коваленко", "kovalenko"), ("Бондаренко", "bondarenko")]),
    ("ar-EG", False, " ",
     [("أحمد", "ahmed"), ("فاطمة", "fatima"), ("محمد", "mohamed"), ("ليلى", "layla"), ("يوسف", "youssef")],
     [("علي", "ali"), ("حسن", "hassan"), ("الشريف", "elsherif"), ("منصور", "mansour")]),
    ("el-GR", False, " ",
     [("Ελένη", "eleni"), ("Γιώργος", "giorgos"), ("Μαρία", "maria"), ("Νίκος", "nikos")],
     [("Παππά", "pappa"), ("Παπαδόπουλος", "papadopoulos"), ("Οικονόμου", "oikonomou")]),
    ("tr-TR", False, " ",
     [("Ayşe", "ayse"), ("Mehmet", None), ("Gülşen", "gulsen"), ("Çağan", "cagan"), ("Özge", "ozge")],
     [("Yılmaz", "yilmaz"), ("Şahin", "sahin"), ("Demir", None), ("Öztürk", "ozturk")]),
    ("hi-IN", False, " ",
     [("Priya", None), ("Arjun", None), ("Ananya", None), ("Rohan", None), ("Kavya", None)],
     [("Sharma", None), ("Iyer", None), ("Reddy", None), ("Banerjee", None)]),
    ("mr-IN", False, " ",
     [("प्रिया", "priya"), ("अनिल", "anil"), ("स्नेहा", "sneha")],
     [("शर्मा", "sharma"), ("देशपांडे", "deshpande"), ("कुलकर्णी", "kulkarni")]),
    ("he-IL", False, " ",
     [("נועה", "noa"), ("יעל", "yael"), ("איתי", "itai")],
     [("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi")]),
]

# Weighted so the demo set is mostly Latin-script but clearly international.
LOCALE_WEIGHTS = {
    "en-US": 16, "en-GB": 6, "de-DE": 8, "fr-FR": 6, "es-ES": 6, "pt-BR": 4, "pl-PL": 4,
    "da-DK": 3, "hu-HU": 2, "sv-SE": 3, "fi-FI": 2, "vi-VN": 4, "ja-JP": 5, "zh-CN": 4,
    "ko-KR": 3, "ru-RU": 4, "uk-UA": 2, "ar-EG": 3, "el-GR": 2, "tr-TR": 3, "hi-IN": 3,
    "mr-IN": 1, "he-IL": 2,
}

# Names the brief explicitly wants to see verbatim somewhere in the set.
SHOWCASE = [
    ("de-DE", "Zoë", "zoe", "Müller", "mueller"),
    ("es-ES", "José", "jose", "Álvarez", "alvarez"),
    ("pl-PL", "Łukasz", "lukasz", "Wiśniewski", "wisniewski"),
    ("da-DK", "Søren", "soren", "Kierkegaard", "kierkegaard"),
    ("vi-VN", "Văn An", "an", "Nguyễn", "nguyen"),
    ("ja-JP", "太郎", "taro", "山田", "yamada"),
    ("ru-RU", "Ольга", "olga", "Иванова", "ivanova"),
    ("ar-EG", "أحمد", "ahmed", "علي", "ali"),
    ("el-GR", "Ελένη", "eleni", "Παππά", "pappa"),
    ("hu-HU", "Amelia", "amelia", "Kovács", "kovacs"),
    ("en-US", "John", "john", "Doe", "doe"),
    ("fi-FI", "Mika", "mika", "Tuominen", "tuominen"),
]

EMAIL_DOMAINS = [
    "example.com", "example.com", "example.com", "example.org", "example.net",
    "mail.example.com", "acme.example", "globex.example", "initech.example",
    "umbrella-labs.example", "northwind.example", "contoso.example", "hooli.example",
    "posteo.example", "fastmail.example",
]

PHONE_PLANS = [  # (country code + fictional range prefix, digits to append)
    ("1415555", 4),   # US, 555 fictional block
    ("1212555", 4),
    ("447700900", 3),  # UK Ofcom drama range
    ("4915510", 6),    # DE
    ("33612", 6),      # FR
    ("8190", 8),       # JP
    ("61491570", 3),   # AU fictional range
    ("5511955", 6),    # BR
]

APPLICATION_IDS = [
    "k8m2qz7t0w1vxh4rnb9cd",  # web app (SPA)
    "p3s9d1ef6ga2hj5klu7no",  # iOS app
    "x0yv4r8bq2cw6mn1zt3ls",  # traditional web (admin portal)
]

TIMEZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
             "Europe/Paris", "Europe/Warsaw", "Asia/Tokyo", "Asia/Shanghai", "Asia/Seoul",
             "Asia/Ho_Chi_Minh", "Asia/Kolkata", "Africa/Cairo", "Europe/Athens",
             "Europe/Istanbul", "America/Sao_Paulo", "Europe/Copenhagen", "Australia/Sydney"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return "".join(c for c in s.lower() if "a" <= c <= "z")


def ts(lo=TS_MIN, hi=TS_MAX):
    return rng.randint(lo, hi)


def iso_date(ms):
    # Simple, clock-free conversion to YYYY-MM-DD (UTC).
    days = ms // 86400000
    # civil_from_days (Howard Hinnant)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return "%04d-%02d-%02d" % (y, m, d)


def iso_datetime(ms):
    secs = (ms // 1000) % 86400
    return "%sT%02d:%02d:%02dZ" % (iso_date(ms), secs // 3600, (secs // 60) % 60, secs % 60)


def chance(p):
    return rng.random() < p


used_ids = []
used_id_set = {}


def new_id():
    while True:
        i = "".join(rng.choice(ID_ALPHABET) for _ in range(12))
        if i not in used_id_set:
            used_id_set[i] = True
            used_ids.append(i)
            return i


taken_usernames = {}
taken_emails = {}
taken_phones = {}


def claim(table, value):
    k = value.lower()
    if k in table:
        return False
    table[k] = True
    return True


def make_username(g, f):
    styles = [
        lambda: "%s.%s" % (g, f),
        lambda: "%s%s" % (g[0], f),
        lambda: "%s_%s" % (g, f[0]),
        lambda: "%s%s%d" % (g, f, rng.randint(1, 99)),
        lambda: "%s" % g,
        lambda: "%s_%s" % (g, f),
        lambda: "%s%s" % (g, f[:3]),
        lambda: "%s.%s%d" % (g[0], f, rng.randint(1980, 2005)),
        lambda: "%s%s" % (g[0].upper() + g[1:], f[0].upper()),  # mixed case, e.g. MikaT
    ]
    for attempt in range(40):
        u = rng.choices(styles, weights=[6, 4, 3, 3, 3, 2, 2, 2, 1])[0]() if attempt < 10 else "%s%s%d" % (g, f, rng.randint(100, 9999))
        if claim(taken_usernames, u):
            return u
    raise RuntimeError("could not find username")


def make_email(g, f, username):
    styles = [
        lambda: "%s.%s" % (g, f),
        lambda: "%s%s" % (g[0], f),
        lambda: "%s" % g,
        lambda: "%s_%s" % (g, f),
        lambda: "%s.%s%d" % (g, f, rng.randint(1, 99)),
    ]
    if username and chance(0.25):
        local = username.lower()
    else:
        local = rng.choice(styles)()
    for attempt in range(40):
        dom = rng.choice(EMAIL_DOMAINS)
        e = "%s@%s" % (local, dom)
        if chance(0.06):  # a few people type their address with capitals
            e = local.capitalize() + "@" + dom
        if claim(taken_emails, e):
            return e
        local = "%s.%s%d" % (g, f, rng.randint(1, 999))
    raise RuntimeError("could not find email")


def make_phone():
    while True:
        prefix, n = rng.choice(PHONE_PLANS)
        p = prefix + "".join(rng.choice("0123456789") for _ in range(n))
        if claim(taken_phones, p):
            return p


def avatar_for(uid, email, identities):
    r = rng.random()
    if "github" in identities:
        return "https://avatars.githubusercontent.com/u/%s?v=4" % identities["github"]["userId"]
    if r < 0.50:
        return None
    if r < 0.72 and email:
        h = hashlib.md5(email.lower().encode("utf-8")).hexdigest()
        return "https://www.gravatar.com/avatar/%s?s=256&d=identicon" % h
    if r < 0.90:
        return "https://cdn.example.com/avatars/%s/%s.png" % (uid, rng.choice(["128", "256", "512"]))
    return "https://lh3.googleusercontent.com/a/ACg8oc%s=s96-c" % "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24))


# ---------------------------------------------------------------------------
# customData sections
# ---------------------------------------------------------------------------

LANGS = ["en", "en-GB", "de", "fr", "es", "pt-BR", "pl", "da", "ja", "zh-CN", "ko", "ru", "ar",
         "el", "tr", "vi", "hi", "sv", "fi"]


def sec_preferences(ctx):
    p = {
        "theme": rng.choice(["light", "dark", "system"]),
        "language": ctx["lang"],
        "timezone": rng.choice(TIMEZONES),
    }
    if chance(0.5):
        p["dateFormat"] = rng.choice(["YYYY-MM-DD", "DD.MM.YYYY", "MM/DD/YYYY", "DD/MM/YYYY"])
    if chance(0.4):
        p["fontScale"] = rng.choice([0.9, 1, 1.1, 1.25, 1.5])
    if chance(0.35):
        p["editor"] = {
            "tabSize": rng.choice([2, 4, 8]),
            "wordWrap": chance(0.6),
            "minimap": chance(0.3),
            "fontFamily": rng.choice(["JetBrains Mono", "Fira Code", "Menlo", "Source Code Pro"]),
        }
    if chance(0.3):
        p["sidebar"] = {"collapsed": chance(0.4), "pinned": rng.sample(
            ["inbox", "projects", "reports", "billing", "team", "calendar", "files"], rng.randint(1, 4))}
    return "preferences", p


def sec_feature_flags(ctx):
    flags = ["betaDashboard", "newEditor", "aiAssist", "darkLaunchSearch", "bulkExport",
             "realtimeCollab", "legacyReports", "smartInbox", "v2Checkout"]
    f = {}
    for name in rng.sample(flags, rng.randint(2, 5)):
        f[name] = chance(0.55)
    if chance(0.4):
        f["rolloutCohort"] = rng.choice(["a", "b", "control", "canary"])
    if chance(0.2):
        f["experiments"] = [
            {"name": rng.choice(["pricing-page-2024", "onboarding-checklist", "search-ranking"]),
             "variant": rng.choice(["control", "treatment"]),
             "enrolledAt": iso_datetime(ts(ctx["created"], TS_MAX))}
        ]
    return "featureFlags", f


def sec_billing(ctx):
    plan = rng.choice(["free", "free", "starter", "pro", "pro", "team", "enterprise"])
    b = {"plan": plan}
    if plan != "free":
        b["billingCycle"] = rng.choice(["monthly", "annual"])
        b["seats"] = rng.choice([1, 1, 3, 5, 10, 25, 100]) if plan in ("team", "enterprise") else 1
        b["currency"] = rng.choice(["USD", "EUR", "GBP", "JPY", "BRL"])
        if chance(0.4):
            b["addons"] = rng.sample(["extra-storage", "priority-support", "sso", "audit-log", "sandbox"],
                                     rng.randint(1, 3))
        if chance(0.3):
            b["discount"] = {"code": rng.choice(["LAUNCH20", "EDU50", "NONPROFIT", "SPRING25"]),
                             "percent": rng.choice([10, 12.5, 20, 25, 50])}
        b["renewsOn"] = iso_date(ts(ctx["created"], TS_MAX))
    else:
        if chance(0.4):
            b["trialEndsAt"] = iso_datetime(ts(ctx["created"], TS_MAX))
    if chance(0.25):
        b["usage"] = {"storageGb": round(rng.uniform(0.1, 80), 2),
                      "apiCallsThisMonth": rng.randint(0, 250000),
                      "quotaUsedRatio": round(rng.random(), 3)}
    return "billing", b


def sec_onboarding(ctx):
    steps = ["welcome", "profile", "invite-team", "connect-calendar", "first-project", "tour"]
    n = rng.randint(0, len(steps))
    o = {
        "completed": n == len(steps),
        "currentStep": n,
        "stepsDone": steps[:n],
    }
    if chance(0.5):
        o["source"] = rng.choice(["google-ads", "newsletter", "referral", "producthunt", "conference",
                                  "word-of-mouth"])
    if chance(0.3):
        o["dismissedTips"] = rng.sample(["keyboard-shortcuts", "dark-mode", "mobile-app", "integrations",
                                         "templates"], rng.randint(1, 3))
    if chance(0.2):
        o["survey"] = {"role": rng.choice(["developer", "designer", "manager", "student", "founder"]),
                       "teamSize": rng.choice(["1", "2-10", "11-50", "51-200", "200+"]),
                       "goals": rng.sample(["ship faster", "collaborate", "automate", "learn"], 2)}
    return "onboarding", o


def sec_notifications(ctx):
    n = {
        "email": {"digest": rng.choice(["off", "daily", "weekly"]),
                  "mentions": chance(0.8), "productUpdates": chance(0.4)},
        "push": {"enabled": chance(0.6)},
    }
    if n["push"]["enabled"] and chance(0.6):
        n["push"]["channels"] = rng.sample(["mentions", "comments", "assignments", "reminders", "security"],
                                           rng.randint(1, 4))
    if chance(0.35):
        n["quietHours"] = {"start": rng.choice(["21:00", "22:00", "23:30"]),
                           "end": rng.choice(["06:30", "07:00", "08:00"]),
                           "weekendsOff": chance(0.5)}
    if chance(0.15):
        n["sms"] = {"enabled": chance(0.5), "securityAlertsOnly": True}
    return "notifications", n


def sec_apps(ctx):
    a = {}
    if chance(0.7):
        a["crm"] = {"defaultPipeline": rng.choice(["sales", "renewals", "partners"]),
                    "columns": rng.sample(["owner", "stage", "value", "closeDate", "lastContact", "region"],
                                          rng.randint(2, 5)),
                    "pageSize": rng.choice([25, 50, 100])}
    if chance(0.6):
        a["analytics"] = {"defaultRange": rng.choice(["7d", "30d", "90d", "ytd"]),
                          "savedDashboards": [
                              {"id": "dash_%d" % rng.randint(100, 999),
                               "title": rng.choice(["Weekly KPIs", "Funnel", "Retention", "Umsatz Q3",
                                                    "Revenue by region", "Активность"]),
                               "starred": chance(0.5)}
                              for _ in range(rng.randint(1, 3))]}
    if chance(0.5) or not a:
        a["mobile"] = {"lastVersion": "%d.%d.%d" % (rng.randint(1, 4), rng.randint(0, 19), rng.randint(0, 9)),
                       "platform": rng.choice(["ios", "android"]),
                       "biometricUnlock": chance(0.6)}
    return "apps", a


def sec_profile_extra(ctx):
    p = {
        "department": rng.choice(["Engineering", "Sales", "Support", "Marketing", "Finance", "Design",
                                  "Operations", "Vertrieb", "Kundendienst"]),
        "title": rng.choice(["Staff Engineer", "Account Executive", "Support Lead", "Product Designer",
                             "Controller", "Head of Ops", "Intern"]),
    }
    if chance(0.5):
        p["employeeNumber"] = rng.randint(1000, 99999)
    if chance(0.4):
        p["skills"] = rng.sample(["rust", "go", "typescript", "sql", "figma", "negotiation", "excel",
                                  "kubernetes", "copywriting"], rng.randint(1, 4))
    if chance(0.3):
        p["office"] = {"city": rng.choice(["Berlin", "São Paulo", "Kraków", "Zürich", "Tokyo", "Москва",
                                           "København", "Montréal", "Düsseldorf", "Αθήνα"]),
                       "desk": "%s-%02d" % (rng.choice("ABCDEF"), rng.randint(1, 40))}
    if chance(0.25):
        p["pronouns"] = rng.choice(["she/her", "he/him", "they/them"])
    return "workProfile", p


def sec_loyalty(ctx):
    l = {
        "tier": rng.choice(["bronze", "silver", "gold", "platinum"]),
        "points": rng.randint(0, 48000),
        "multiplier": rng.choice([1, 1.25, 1.5, 2, 2.5]),
    }
    if chance(0.5):
        l["memberSince"] = iso_date(ctx["created"])
    if chance(0.3):
        l["favoriteStores"] = rng.sample(["Hamburg Altona", "Lyon Part-Dieu", "Shibuya", "Málaga Centro",
                                          "Gdańsk Główny", "Aarhus C"], rng.randint(1, 3))
    return "loyalty", l


def sec_locale_bits(ctx):
    g = rng.choice(["Grüße aus Köln!", "¡Hola, qué tal!", "Cześć 👋", "Tschüß", "Ça va ?",
                    "こんにちは", "Привет", "مرحبا", "Καλημέρα", "Xin chào", "Hej då", "Merhaba 🙂"])
    d = {"greeting": g}
    if chance(0.5):
        d["nickname"] = rng.choice(["Zoë", "Jürgi", "Pepe", "Łukaszek", "Sørenchen", "たろう", "Оля",
                                    "Lenchen", "Ñoño"])
    if chance(0.4):
        d["signature"] = rng.choice(["Mit freundlichen Grüßen", "Cordialement", "Saludos cordiales",
                                     "Pozdrawiam serdecznie", "よろしくお願いします", "С уважением"])
    return "personalization", d


def sec_integrations(ctx):
    i = {}
    if chance(0.6):
        i["slack"] = {"connected": True, "workspace": rng.choice(["acme-hq", "globex", "initech-eng"]),
                      "channel": rng.choice(["#alerts", "#general", "#deploys", "#support-escalations"])}
    if chance(0.5):
        i["calendar"] = {"provider": rng.choice(["google", "outlook", "caldav"]),
                         "syncEnabled": chance(0.7),
                         "calendars": rng.sample(["Work", "Personal", "Team offsite", "Feiertage"],
                                                 rng.randint(1, 3))}
    if chance(0.4) or not i:
        i["webhooks"] = [
            {"url": "https://hooks.example.com/%s/%d" % (rng.choice(["deploy", "billing", "crm"]),
                                                        rng.randint(1, 999)),
             "events": rng.sample(["user.updated", "invoice.paid", "project.created", "comment.added"],
                                  rng.randint(1, 3)),
             "active": chance(0.8)}
            for _ in range(rng.randint(1, 2))]
    return "integrations", i


def sec_consents(ctx):
    c = {
        "termsVersion": rng.choice(["2022-03", "2023-01", "2024-06", "2025-02"]),
        "acceptedAt": iso_datetime(ts(ctx["created"], min(TS_MAX, ctx["created"] + 86400000 * 30))),
        "marketingEmails": chance(0.35),
    }
    if chance(0.4):
        c["cookieCategories"] = rng.sample(["necessary", "analytics", "marketing", "preferences"],
                                           rng.randint(1, 4))
    return "consents", c


SECTIONS = [sec_preferences, sec_feature_flags, sec_billing, sec_onboarding, sec_notifications,
            sec_apps, sec_profile_extra, sec_loyalty, sec_locale_bits, sec_integrations, sec_consents]


def big_history(ctx):
    """A larger activity/history blob (~2-4 KB) for a few users."""
    items = []
    t = ctx["created"]
    for k in range(rng.randint(22, 36)):
        t = min(TS_MAX, t + rng.randint(3600000, 86400000 * 20))
        items.append({
            "at": iso_datetime(t),
            "action": rng.choice(["project.created", "file.uploaded", "comment.added", "report.exported",
                                  "member.invited", "settings.changed"]),
            "target": rng.choice(["Q3 Roadmap", "Budget 2025", "Übersicht", "Présentation client",
                                  "設計レビュー", "Launch checklist", "Отчёт", "Hiring plan"]),
            "durationSec": rng.randint(2, 5400),
        })
    return items


def make_custom_data(ctx, idx):
    cd = {}
    n = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
    for fn in sorted(rng.sample(SECTIONS, n), key=SECTIONS.index):
        k, v = fn(ctx)
        cd[k] = v
    if chance(0.12):
        cd["schemaVersion"] = rng.choice([1, 2, 3])
    if chance(0.08):
        cd["tags"] = rng.sample(["vip", "beta-tester", "partner", "internal", "churn-risk", "early-adopter"],
                                rng.randint(1, 3))
    if chance(0.06):
        cd["rating"] = {"nps": rng.randint(0, 10), "csat": rng.choice([3.5, 4, 4.25, 4.5, 5])}
    return cd


# ---------------------------------------------------------------------------
# identities / profile
# ---------------------------------------------------------------------------

def make_identities(ctx):
    r = rng.random()
    if r < 0.06:
        uid = str(rng.randint(100000, 99999999))
        login = ctx["roman_user"]
        return {"github": {"userId": uid, "details": {
            "id": uid,
            "name": ctx["name"] or login,
            "email": ctx["email"],
            "avatar": "https://avatars.githubusercontent.com/u/%s?v=4" % uid,
            "rawData": {"login": login, "type": "User", "public_repos": rng.randint(0, 120),
                        "followers": rng.randint(0, 900), "created_at": iso_datetime(ts(TS_MIN - 10**11, TS_MIN))},
        }}}
    if r < 0.10:
        uid = "".join(rng.choice("0123456789") for _ in range(21))
        return {"google": {"userId": uid, "details": {
            "id": uid,
            "name": ctx["name"],
            "email": ctx["email"],
            "avatar": None,
            "rawData": {"locale": ctx["locale"][:2], "email_verified": True},
        }}}
    if r < 0.12:
        uid = "%06d.%s.%04d" % (rng.randint(0, 999999), "".join(rng.choice("0123456789abcdef") for _ in range(32)),
                                rng.randint(0, 9999))
        return {"apple": {"userId": uid, "details": {"id": uid, "email": ctx["email"]}}}
    return {}


def make_profile(ctx):
    if ctx["given"] is None or not chance(0.3):
        if chance(0.04):
            return {"website": "https://%s.example.dev" % ctx["roman_user"]}
        return {}
    p = {"givenName": ctx["given"], "familyName": ctx["family"]}
    if chance(0.2):
        p["nickname"] = ctx["given"].split(" ")[-1]
    p["locale"] = ctx["locale"]
    if chance(0.2):
        p["zoneinfo"] = rng.choice(TIMEZONES)
    if chance(0.1):
        p["birthdate"] = "%04d-%02d-%02d" % (rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28))
    return p


# ---------------------------------------------------------------------------
# users
# ---------------------------------------------------------------------------

def admin_user():
    created = 1641031200000  # 2022-01-01T10:00:00Z
    claim(taken_usernames, "admin")
    claim(taken_emails, "admin@example.com")
    return {
        "id": new_id(),
        "username": "admin",
        "primaryEmail": "admin@example.com",
        "primaryPhone": None,
        "name": "Admin",
        "avatar": None,
        "customData": {
            "adminConsolePreferences": {
                "language": "en",
                "appearanceMode": "system",
                "experienceNoticeConfirmed": True,
            },
            "customDataFoo": {},
            "customDataBar": {"baz": "qux", "count": 3},
        },
        "identities": {},
        "lastSignInAt": 1792800000000,
        "createdAt": created,
        "updatedAt": 1792800000000,
        "profile": {},
        "applicationId": None,
        "isSuspended": False,
        "hasPassword": True,
    }


def pick_person(i):
    if i < len(SHOWCASE):
        loc, g, rg, f, rf = SHOWCASE[i]
        family_first = next(l[1] for l in LOCALES if l[0] == loc)
        sep = next(l[2] for l in LOCALES if l[0] == loc)
        return loc, family_first, sep, g, rg, f, rf
    names = [l[0] for l in LOCALES]
    weights = [LOCALE_WEIGHTS[n] for n in names]
    loc = rng.choices(LOCALES, weights=weights)[0]
    g, rg = rng.choice(loc[3])
    f, rf = rng.choice(loc[4])
    return loc[0], loc[1], loc[2], g, rg or ascii_fold(g), f, rf or ascii_fold(f)


def make_user(i):
    loc, family_first, sep, g, rg, f, rf = pick_person(i)
    display = (f + sep + g) if family_first else (g + sep + f)

    # Sign-up shape: 0 = username+email, 1 = email only, 2 = username only,
    # 3 = phone only, 4 = username+email+phone, 5 = email+phone
    if i == 11:  # keep the showcase "mika_t"-ish handle as a username user
        shape = 0
    else:
        shape = rng.choices([0, 1, 2, 3, 4, 5], weights=[55, 16, 12, 3, 9, 5])[0]

    username = email = phone = None
    if shape in (0, 2, 4):
        if i == 9:
            username = "amelia.kovacs"
            claim(taken_usernames, username)
        elif i == 10:
            username = "jdoe"
            claim(taken_usernames, username)
        elif i == 11:
            username = "mika_t"
            claim(taken_usernames, username)
        else:
            username = make_username(rg, rf)
    if shape in (0, 1, 4, 5):
        email = make_email(rg, rf, username)
    if shape in (3, 4, 5):
        phone = make_phone()

    name = display
    if i < len(SHOWCASE):
        pass  # showcase names always appear verbatim
    elif shape == 3 and chance(0.6):
        name = None
    elif chance(0.08):
        name = None
    elif chance(0.06):
        name = g  # just a first name

    created = ts(TS_MIN, TS_MAX - 86400000 * 3)
    updated = ts(created, TS_MAX) if chance(0.85) else created
    if chance(0.12):
        last_sign_in = None
    else:
        last_sign_in = ts(created, TS_MAX)
        updated = max(updated, last_sign_in)

    uid = new_id()
    roman_user = (username or "%s%s" % (rg, rf)).lower().replace(".", "-").replace("_", "-")
    ctx = {"created": created, "locale": loc, "given": g if name == display else None,
           "family": f, "name": name, "email": email, "roman_user": roman_user,
           "lang": loc.split("-")[0] if chance(0.7) else rng.choice(LANGS)}

    identities = make_identities(ctx)
    avatar = avatar_for(uid, email, identities)
    custom = {} if chance(0.15) else make_custom_data(ctx, i)
    profile = make_profile(ctx)

    app_r = rng.random()
    application_id = None if app_r < 0.35 else APPLICATION_IDS[0 if app_r < 0.75 else (1 if app_r < 0.92 else 2)]

    has_password = True
    if identities and chance(0.7):
        has_password = False
    if shape in (1, 3, 5) and chance(0.5):
        has_password = False  # passwordless (email / SMS code) sign-up

    return {
        "id": uid,
        "username": username,
        "primaryEmail": email,
        "primaryPhone": phone,
        "name": name,
        "avatar": avatar,
        "customData": custom,
        "identities": identities,
        "lastSignInAt": last_sign_in,
        "createdAt": created,
        "updatedAt": updated,
        "profile": profile,
        "applicationId": application_id,
        "isSuspended": False,  # set in main(): exactly 8% of users
        "hasPassword": has_password,
    }


def main():
    users = [admin_user()]
    for i in range(N_USERS - 1):
        users.append(make_user(i))

    # A handful of larger customData blobs (~2-4 KB).
    big_idx = [i for i in range(1, len(users)) if users[i]["customData"]]
    for i in rng.sample(big_idx, 5):
        ctx = {"created": users[i]["createdAt"]}
        users[i]["customData"]["activityLog"] = big_history(ctx)
        users[i]["customData"]["recentSearches"] = rng.sample(
            ["invoice 2024", "Müller GmbH", "onboarding deck", "q3 okr", "東京 オフィス", "retention cohort",
             "Ausschreibung", "contract renewal", "São Paulo leads", "NPS comments"], 6)

    # Exactly 8% suspended (never the admin).
    for i in rng.sample(range(1, len(users)), round(len(users) * 0.08)):
        users[i]["isSuspended"] = True

    # Big integers that do not fit in an f64 / JS number (one beyond i64 too).
    with_cd = [i for i in range(1, len(users)) if users[i]["customData"]]
    a, b = rng.sample(with_cd, 2)
    users[a]["customData"]["legacyImport"] = {
        "system": "mainframe-crm",
        "externalAccountNumber": 12345678901234567890,
        "importedAt": iso_datetime(users[a]["createdAt"]),
        "confidence": 0.75,
    }
    users[b]["customData"]["ledger"] = {"snowflakeId": 9007199254740993, "balance": 1.5, "currency": "EUR"}

    # Ensure the first non-admin user showcase has a Grüße string for sure.
    users[1]["customData"].setdefault("personalization", {"greeting": "Grüße aus Köln!"})

    text = json.dumps(users, ensure_ascii=False, indent=2) + "\n"
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
