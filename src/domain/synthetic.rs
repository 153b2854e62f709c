//! Deterministic synthetic users for demos, load tests and benchmarks: realistic names,
//! usernames and emails, and about 300 bytes of customData shaped like Logto's
//! `adminConsolePreferences` example. The same seed always gives the same users.

use super::filter::search_text_of_texts;
use super::import::NewUser;
use super::{CustomData, User};

const FIRST: &[&str] = &[
    "amelia",
    "noah",
    "olivia",
    "liam",
    "emma",
    "mateo",
    "sofia",
    "lucas",
    "mia",
    "elias",
    "zoe",
    "jonas",
    "lea",
    "hugo",
    "chloe",
    "arjun",
    "priya",
    "kenji",
    "yuki",
    "wei",
    "mei",
    "omar",
    "layla",
    "ivan",
    "olga",
    "lukasz",
    "agnieszka",
    "soren",
    "freya",
    "diego",
    "lucia",
    "tariq",
    "amara",
    "kwame",
    "nia",
    "finn",
    "saoirse",
    "henrik",
    "ingrid",
    "marco",
];
const LAST: &[&str] = &[
    "kovacs",
    "smith",
    "garcia",
    "muller",
    "rossi",
    "nguyen",
    "tanaka",
    "kim",
    "novak",
    "silva",
    "dubois",
    "jensen",
    "nowak",
    "ivanova",
    "haddad",
    "okafor",
    "mensah",
    "patel",
    "sharma",
    "chen",
    "wang",
    "yamada",
    "larsen",
    "berg",
    "costa",
    "moreau",
    "fischer",
    "weber",
    "horvat",
    "popescu",
    "oconnor",
    "murphy",
    "andersen",
    "lindqvist",
    "alvarez",
];
/// How names are written, so that the data set has non-ASCII in it.
const DISPLAY_LAST: &[(&str, &str)] = &[
    ("muller", "Müller"),
    ("kovacs", "Kovács"),
    ("nowak", "Nowak"),
    ("alvarez", "Álvarez"),
    ("oconnor", "O'Connor"),
    ("lindqvist", "Lindqvist"),
    ("dubois", "Dubois"),
];
const DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "mail.example", "corp.example"];
const LANGUAGES: &[&str] = &["en", "de", "fr", "ja", "es", "pt-BR", "zh-CN", "pl"];
const MODES: &[&str] = &["system", "light", "dark"];
const PLANS: &[&str] = &["free", "pro", "team", "enterprise"];

/// An endless, deterministic stream of users; `first_number` makes usernames distinct
/// across several seeding runs into one database.
pub struct SyntheticUsers {
    rng: fastrand::Rng,
    number: u64,
    base_ms: i64,
    /// The last id as a number: ids rise through the run (with random gaps), so a bulk load
    /// appends to the users table instead of touching every page of it.
    id_cursor: u64,
}

/// 36^12: how many 12-character `[0-9a-z]` ids there are.
const ID_SPACE: u64 = 4_738_381_338_321_616_896;
/// The largest step between two ids: 10 million users fit in a sixth of the id space.
const ID_GAP: u64 = 1 << 36;

impl SyntheticUsers {
    pub fn new(seed: u64, first_number: u64) -> Self {
        // 2023-01-01T00:00:00Z: fixed, so the same seed gives the same timestamps.
        let mut rng = fastrand::Rng::with_seed(seed);
        let id_cursor = rng.u64(..ID_SPACE / 2);
        Self { rng, number: first_number, base_ms: 1_672_531_200_000, id_cursor }
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.rng.usize(..from.len())]
    }

    fn id(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        self.id_cursor = (self.id_cursor + 1 + self.rng.u64(..ID_GAP)) % ID_SPACE;
        let mut value = self.id_cursor;
        let mut id = [b'0'; 12];
        for place in id.iter_mut().rev() {
            *place = ALPHABET[(value % 36) as usize];
            value /= 36;
        }
        id.iter().map(|b| *b as char).collect()
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// A synthetic user as `seed`'s bulk load takes them: the document already written as compact
/// text and the search text made from the values as they were picked. Building a serde_json
/// tree for each user, walking it and freeing it was half of the seed's making thread.
#[derive(Debug, Clone)]
pub struct MadeUser {
    /// Its `custom_data` is `None`: the document is [`MadeUser::document`].
    pub new: NewUser,
    pub document: String,
    /// [`search_text`] of the user and the document.
    pub search: String,
}

impl MadeUser {
    /// The user with its document parsed, as any other new user.
    pub fn into_new_user(self) -> NewUser {
        let mut new = self.new;
        // Our own text of plain values: it parses, and the parse writes it back the same.
        let parsed = CustomData::parse(&self.document);
        debug_assert!(parsed.is_ok(), "{}", self.document);
        new.custom_data = Some(parsed.unwrap_or_else(|_| CustomData::empty()));
        new
    }
}

impl From<MadeUser> for NewUser {
    fn from(made: MadeUser) -> Self {
        made.into_new_user()
    }
}

impl SyntheticUsers {
    /// The next user, made for a bulk load (see [`MadeUser`]).
    pub fn next_made(&mut self) -> MadeUser {
        self.number += 1;
        let n = self.number;
        let first = self.pick(FIRST);
        let last = self.pick(LAST);
        let display_last = DISPLAY_LAST
            .iter()
            .find(|(k, _)| *k == last)
            .map_or_else(|| capitalise(last), |(_, v)| (*v).to_owned());
        let username = match self.rng.u8(..3) {
            0 => format!("{first}.{last}{n}"),
            1 => format!("{first}_{last}{n}"),
            _ => format!("{}{last}{n}", &first[..1]),
        };
        let domain = self.pick(DOMAINS);
        let created_at = self.base_ms + self.rng.i64(0..100_000_000_000);
        let updated_at = created_at + self.rng.i64(0..10_000_000_000);
        let signed_in = self.rng.u8(..10) < 8;
        // Picked in the order the document lists them (the order the generator has always
        // drawn them in: the same seed gives the same users in every build).
        let (language, mode, notice) = (self.pick(LANGUAGES), self.pick(MODES), self.rng.bool());
        let (tier, seats) = (self.pick(PLANS), self.rng.u32(1..50).to_string());
        let (email, push) = (self.rng.bool(), self.rng.bool());
        let (completed, step) = (self.rng.bool(), self.rng.u8(1..6).to_string());
        let [notice, email, push, completed] =
            [notice, email, push, completed].map(|b| if b { "true" } else { "false" });
        let document = format!(
            concat!(
                r#"{{"adminConsolePreferences":{{"language":"{}","appearanceMode":"{}","#,
                r#""experienceNoticeConfirmed":{}}},"plan":{{"tier":"{}","seats":{},"#,
                r#""renewsOn":"2027-01-01"}},"notifications":{{"email":{},"push":{},"#,
                r#""digest":"weekly"}},"onboarding":{{"completed":{},"step":{}}},"#,
                r#""featureFlags":["new-editor","beta-search"]}}"#
            ),
            language, mode, notice, tier, seats, email, push, completed, step
        );
        let user = User {
            id: self.id(),
            username: Some(username),
            primary_email: Some(format!("{first}.{last}.{n}@{domain}")),
            primary_phone: None,
            name: Some(format!("{} {display_last}", capitalise(first))),
            avatar: None,
            identities: Default::default(),
            last_sign_in_at: signed_in.then(|| updated_at + self.rng.i64(0..1_000_000_000)),
            created_at,
            updated_at,
            profile: Default::default(),
            application_id: None,
            is_suspended: self.rng.u8(..50) == 0,
            extra: Default::default(),
        };
        let search = search_text_of_texts(
            &user,
            [
                "adminConsolePreferences",
                "language",
                language,
                "appearanceMode",
                mode,
                "experienceNoticeConfirmed",
                notice,
                "plan",
                "tier",
                tier,
                "seats",
                &seats,
                "renewsOn",
                "2027-01-01",
                "notifications",
                "email",
                email,
                "push",
                push,
                "digest",
                "weekly",
                "onboarding",
                "completed",
                completed,
                "step",
                &step,
                "featureFlags",
                "new-editor",
                "beta-search",
            ],
        );
        let new = NewUser {
            origin: format!("synthetic user {n}"),
            user,
            custom_data: None,
            fields: None,
            parsed_bytes: 0,
        };
        MadeUser { new, document, search }
    }
}

impl Iterator for SyntheticUsers {
    type Item = NewUser;

    fn next(&mut self) -> Option<NewUser> {
        Some(self.next_made().into_new_user())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The number an id spells in base 36.
    fn id_number(id: &str) -> u64 {
        u64::from_str_radix(id, 36).expect("an id is base 36")
    }

    #[test]
    fn a_seed_gives_the_same_users_in_every_build() {
        // The benchmarks' figures and the seeded test databases compare across builds only
        // while a seed makes the same users in each.
        let users: Vec<NewUser> = SyntheticUsers::new(1, 0).take(3).collect();
        let ids: Vec<&str> = users.iter().map(|u| u.user.id.as_str()).collect();
        assert_eq!(ids, ["btrf1tz1xvpe", "btrf228a8at5", "btrf2lih5rpo"]);
        let first = &users[0].user;
        assert_eq!(
            (
                first.username.as_deref(),
                first.primary_email.as_deref(),
                first.name.as_deref(),
                first.created_at,
                first.updated_at,
                first.last_sign_in_at,
                first.is_suspended,
            ),
            (
                Some("omar.novak1"),
                Some("omar.novak.1@example.com"),
                Some("Omar Novak"),
                1_750_639_258_969,
                1_758_330_832_499,
                Some(1_758_889_515_036),
                false,
            )
        );
        assert_eq!(
            users[0].custom_data.as_ref().map(CustomData::compact).as_deref(),
            Some(concat!(
                r#"{"adminConsolePreferences":{"language":"es","appearanceMode":"system","#,
                r#""experienceNoticeConfirmed":false},"plan":{"tier":"free","seats":19,"#,
                r#""renewsOn":"2027-01-01"},"notifications":{"email":false,"push":false,"#,
                r#""digest":"weekly"},"onboarding":{"completed":true,"step":5},"#,
                r#""featureFlags":["new-editor","beta-search"]}"#
            ))
        );
    }

    #[test]
    fn a_made_user_holds_the_document_and_search_text_its_parsed_document_gives() {
        let mut users = SyntheticUsers::new(17, 0);
        for _ in 0..2_000 {
            let made = users.next_made();
            let (document, search) = (made.document.clone(), made.search.clone());
            let new = made.into_new_user();
            let data = new.custom_data.as_ref().expect("customData");
            assert_eq!(data.compact_text(), document);
            assert_eq!(search, crate::domain::filter::search_text(&new.user, data.as_object()));
        }
    }

    #[test]
    fn ids_are_twelve_base_36_characters_each_one_to_the_gap_above_the_last() {
        let ids: Vec<String> = SyntheticUsers::new(3, 0).take(1_000).map(|u| u.user.id).collect();
        for id in &ids {
            assert!(
                id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
                "{id}"
            );
        }
        // Rising ids make a bulk load append to the users table; a step of at least one keeps
        // them apart.
        for pair in ids.windows(2) {
            let step = id_number(&pair[1]).checked_sub(id_number(&pair[0]));
            assert!(step.is_some_and(|step| (1..=ID_GAP).contains(&step)), "{pair:?}");
        }
    }

    #[test]
    fn name_username_and_email_are_one_first_and_last_name_and_the_users_number() {
        let mut forms = [0; 3];
        // Numbers go on from `first_number`, so a second seeding makes other usernames.
        for (n, new) in (1_001..).zip(SyntheticUsers::new(7, 1_000).take(600)) {
            assert_eq!(new.origin, format!("synthetic user {n}"));
            let user = &new.user;
            let email = user.primary_email.as_deref().expect("an email");
            let (local, domain) = email.split_once('@').expect("an address");
            assert!(DOMAINS.contains(&domain), "{email}");
            let [first, last, number] = local.split('.').collect::<Vec<_>>()[..] else {
                panic!("{email}");
            };
            assert!(FIRST.contains(&first) && LAST.contains(&last), "{email}");
            assert_eq!(number, n.to_string());
            let username = user.username.as_deref().expect("a username");
            let form = [
                format!("{first}.{last}{n}"),
                format!("{first}_{last}{n}"),
                format!("{}{last}{n}", &first[..1]),
            ]
            .iter()
            .position(|f| f == username);
            forms[form.unwrap_or_else(|| panic!("{username} for {email}"))] += 1;
            // Some last names are written with letters outside ASCII; the rest capitalised.
            let written_last = match last {
                "muller" => "Müller".to_owned(),
                "kovacs" => "Kovács".to_owned(),
                "alvarez" => "Álvarez".to_owned(),
                "oconnor" => "O'Connor".to_owned(),
                _ => format!("{}{}", last[..1].to_ascii_uppercase(), &last[1..]),
            };
            let written_first = format!("{}{}", first[..1].to_ascii_uppercase(), &first[1..]);
            assert_eq!(user.name.as_deref(), Some(format!("{written_first} {written_last}").as_str()));
        }
        assert!(forms.iter().all(|&count| count > 100), "each form of username: {forms:?}");
    }

    #[test]
    fn capitalise_upper_cases_the_first_letter_only() {
        assert_eq!(capitalise("amelia"), "Amelia");
        assert_eq!(capitalise("élodie"), "Élodie");
        assert_eq!(capitalise(""), "");
    }

    #[test]
    fn times_follow_each_other_from_2023_and_four_in_five_users_have_signed_in() {
        const START: i64 = 1_672_531_200_000; // 2023-01-01T00:00:00Z
        let users: Vec<User> = SyntheticUsers::new(11, 0).take(2_000).map(|u| u.user).collect();
        for user in &users {
            assert!((START..START + 100_000_000_000).contains(&user.created_at), "{user:?}");
            assert!(
                (user.created_at..user.created_at + 10_000_000_000).contains(&user.updated_at),
                "{user:?}"
            );
            if let Some(at) = user.last_sign_in_at {
                assert!((user.updated_at..user.updated_at + 1_000_000_000).contains(&at), "{user:?}");
            }
        }
        // 80 % and 2 % of 2,000, give or take five standard deviations.
        let signed_in = users.iter().filter(|u| u.last_sign_in_at.is_some()).count();
        assert!((1_500..=1_700).contains(&signed_in), "{signed_in} signed in");
        let suspended = users.iter().filter(|u| u.is_suspended).count();
        assert!((10..=80).contains(&suspended), "{suspended} suspended");
    }

    #[test]
    fn custom_data_is_the_admin_console_example_for_every_user() {
        for new in SyntheticUsers::new(13, 0).take(200) {
            assert_eq!(new.fields, None);
            let data = new.custom_data.expect("customData");
            let object = data.as_object();
            let language = object["adminConsolePreferences"]["language"].as_str().expect("a language");
            assert!(LANGUAGES.contains(&language), "{language}");
            let tier = object["plan"]["tier"].as_str().expect("a tier");
            assert!(PLANS.contains(&tier), "{tier}");
            let size = data.compact().len();
            assert!((250..=350).contains(&size), "{size} bytes");
        }
    }
}
