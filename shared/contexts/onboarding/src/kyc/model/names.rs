//! Name matching for sanctions and PEP screening.
//!
//! A listed person is rarely written the way a client writes their own name: the list says
//! `AL-RASHID, Mohammed Khalid`, the passport `Muhammad Khaled Al Rashid`. Both sides are
//! brought to comparable tokens, then paired token by token regardless of order:
//!
//! 1. **Folding**: Unicode NFKD with combining marks removed (`Hélène` → `helene`), letters NFKD
//!    does not decompose spelled out (`ß` → `ss`, `ø` → `o`, `ł` → `l`), Cyrillic transliterated
//!    (`Соколов` → `sokolov`), lowercase; dots and apostrophes join (`L.L.C.` → `llc`,
//!    `O'Neill` → `oneill`), every other non-alphanumeric character separates tokens.
//! 2. **Particles**: connecting words that lists write inconsistently (`al`, `bin`, `van`, ...)
//!    and, for companies, legal forms (`llc`, `ltd`, `gmbh`, ...) are dropped.
//! 3. **Variants**: [`NAME_VARIANTS`] maps common transliteration variants of given names to
//!    one spelling (`Mohamed`, `Muhammad` → `muhammad`).
//! 4. **Phonetic folding** for variants the table does not know: `kh`→`h`, `ph`→`f`,
//!    `dzh`/`dj`→`j`, `x`→`ks`, `w`→`v`, `ou`→`u`, `y`→`i`, a leading `j` or `ie` before a vowel
//!    as `i`/`e` (`Jurij`, `Yevgeny`), doubled letters once.
//!
//! Tokens are then compared (the mean of Jaro-Winkler similarity, which forgives endings, and
//! the Levenshtein ratio, which does not let a shared prefix carry two different names such as
//! `Wei`/`Weiming`) and paired greedily, best pairs first.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Groups of spellings that transliteration from Arabic, Russian and Ukrainian gives the same
/// given name. Every spelling in a group is compared as the group's first spelling. A group
/// declares names *the same for screening*, so only true transliteration variants belong here
/// (not cognates such as Michael/Mikhail, which are different names).
pub const NAME_VARIANTS: &[&[&str]] = &[
    &[
        "muhammad", "mohammed", "mohammad", "mohamed", "mohamad", "muhammed", "muhamed",
        "mouhamed", "mohammod", "mohd",
    ],
    &["ahmad", "ahmed", "ahmet", "achmed"],
    &[
        "husayn", "hussein", "husein", "hussain", "husain", "hossein", "houssein",
    ],
    &["hasan", "hassan"],
    &["khalid", "khaled", "chalid", "halid"],
    &[
        "yusuf", "youssef", "yousef", "yusef", "yussuf", "yousuf", "youssouf",
    ],
    &["umar", "omar", "omer"],
    &["usama", "osama", "usamah"],
    &["abdul", "abdel", "abdal", "abdoul"],
    &[
        "aleksandr",
        "alexander",
        "aleksander",
        "alexandr",
        "aleksandar",
        "oleksandr",
        "alexandre",
    ],
    &[
        "yevgeny", "evgeny", "evgeni", "evgenii", "evgeniy", "yevgeniy", "yevgeni", "yevhen",
        "ievgen",
    ],
    &["sergey", "sergei", "serguei", "serhiy", "serhii", "sergii"],
    &[
        "dmitry", "dmitri", "dmitriy", "dmitrii", "dimitri", "dmytro",
    ],
    &["nikolay", "nikolai", "nicolai", "mykola"],
    &["yuri", "yury", "yuriy", "yurii", "iouri", "jurij"],
    &["mikhail", "mihail", "michail", "mykhailo"],
    &["andrey", "andrei", "andriy", "andrii"],
    &[
        "aleksey", "alexey", "aleksei", "alexei", "oleksiy", "oleksii",
    ],
    &["vladimir", "wladimir", "volodymyr"],
    &["pyotr", "petr", "piotr", "petro"],
    &["fyodor", "fedor", "feodor", "fedir"],
];

/// Connecting words of personal names that lists and documents write inconsistently.
const NAME_PARTICLES: &[&str] = &[
    "al", "el", "ul", "bin", "ibn", "bint", "ben", "van", "von", "der", "den", "de", "da", "di",
    "du", "del", "della", "la", "le", "dos", "das",
];

/// Legal forms of companies, which lists and registries write in many ways.
const LEGAL_FORMS: &[&str] = &[
    "llc",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sarl",
    "bv",
    "nv",
    "jsc",
    "pjsc",
    "ojsc",
    "ooo",
    "oao",
    "zao",
    "fze",
    "fzco",
    "fzc",
    "spa",
    "srl",
    "lp",
    "llp",
];

/// Below this, two tokens do not count as the same name part for a hit (a near miss at most):
/// a one-letter typo in a long name (`Petrenco`/`Petrenko`, 0.91) or `Joan`/`John` (0.81).
/// Known transliteration variants are equal tokens after folding and the variant table.
pub const TOKEN_HIT_SIMILARITY: f64 = 0.92;

/// Whether the name is a person's or an organisation's (legal forms are dropped only there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Person,
    Organisation,
}

/// A name reduced to comparable tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameKey {
    pub tokens: Vec<String>,
}

impl NameKey {
    pub fn new(raw: &str, kind: NameKind) -> NameKey {
        let folded = fold(raw);
        let words: Vec<&str> = folded.split_whitespace().collect();
        let dropped: &[&str] = match kind {
            NameKind::Person => NAME_PARTICLES,
            NameKind::Organisation => LEGAL_FORMS,
        };
        let kept: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| !dropped.contains(w))
            .collect();
        // A name made only of particles ("De La") keeps them rather than vanish.
        let words = if kept.is_empty() { words } else { kept };
        NameKey {
            tokens: words.into_iter().map(canonical_token).collect(),
        }
    }
}

/// How well two names agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameSimilarity {
    /// 0.0 to 1.0: the mean similarity of the paired tokens, lowered when one name has tokens
    /// the other lacks (a middle name the list does not know).
    pub score: f64,
    /// The least similar pair: a hit needs every pair at [`TOKEN_HIT_SIMILARITY`] or above.
    pub weakest_pair: f64,
    pub paired: usize,
    pub longer_len: usize,
}

/// Compares two names independently of token order. A one-token name only ever matches a
/// one-token name: a given name alone does not identify a listed person.
pub fn compare(a: &NameKey, b: &NameKey) -> NameSimilarity {
    let none = NameSimilarity {
        score: 0.0,
        weakest_pair: 0.0,
        paired: 0,
        longer_len: a.tokens.len().max(b.tokens.len()),
    };
    let (short, long) = if a.tokens.len() <= b.tokens.len() {
        (&a.tokens, &b.tokens)
    } else {
        (&b.tokens, &a.tokens)
    };
    if short.is_empty() || (short.len() == 1 && long.len() > 1) {
        return none;
    }
    let mut pairs: Vec<(f64, usize, usize)> = Vec::with_capacity(short.len() * long.len());
    for (i, s) in short.iter().enumerate() {
        for (j, l) in long.iter().enumerate() {
            pairs.push((token_similarity(s, l), i, j));
        }
    }
    // Best pairs first; ties in index order so the result never depends on sort stability.
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let (mut used_short, mut used_long) = (vec![false; short.len()], vec![false; long.len()]);
    let (mut total, mut weakest, mut paired) = (0.0, 1.0f64, 0usize);
    for (similarity, i, j) in pairs {
        if !used_short[i] && !used_long[j] {
            used_short[i] = true;
            used_long[j] = true;
            total += similarity;
            weakest = weakest.min(similarity);
            paired += 1;
        }
    }
    let mean = total / short.len() as f64;
    let coverage = short.len() as f64 / long.len() as f64;
    NameSimilarity {
        score: mean * (0.85 + 0.15 * coverage),
        weakest_pair: weakest,
        paired,
        longer_len: long.len(),
    }
}

fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        1.0
    } else if a.len() <= 2 || b.len() <= 2 {
        // Initials and two-letter tokens carry too little to be similar without being equal.
        0.0
    } else {
        (strsim::jaro_winkler(a, b) + strsim::normalized_levenshtein(a, b)) / 2.0
    }
}

/// Lowercase ASCII letters, digits and spaces: diacritics stripped, other scripts' letters
/// transliterated where a table exists, separators as spaces.
pub fn fold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        for c in c.to_lowercase() {
            match c {
                'a'..='z' | '0'..='9' => out.push(c),
                '.' | '\'' | '\u{2019}' | '\u{02bc}' | '`' => {}
                _ => match spelled_out(c) {
                    Some(latin) => out.push_str(latin),
                    None => out.push(' '),
                },
            }
        }
    }
    out
}

/// Letters NFKD leaves whole, and Russian/Ukrainian Cyrillic (BGN/PCGN-like, simplified).
fn spelled_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'ґ' => "g",
        'д' => "d",
        'е' | 'э' => "e",
        'є' => "ye",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' | 'й' => "i",
        'ї' => "yi",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

fn canonical_token(folded: &str) -> String {
    let spelling = NAME_VARIANTS
        .iter()
        .find(|group| group.contains(&folded))
        .map_or(folded, |group| group[0]);
    phonetic(spelling)
}

const REWRITES: [(&str, &str); 15] = [
    ("sch", "sh"),
    ("tch", "ch"),
    ("dzh", "j"),
    ("dj", "j"),
    ("kh", "h"),
    ("ph", "f"),
    ("gh", "g"),
    ("dh", "d"),
    ("th", "t"),
    ("ck", "k"),
    ("x", "ks"),
    ("q", "k"),
    ("w", "v"),
    ("ou", "u"),
    ("y", "i"),
];

fn phonetic(token: &str) -> String {
    if token.bytes().all(|b| b.is_ascii_digit()) {
        return token.to_string();
    }
    let mut s = token.to_string();
    for (from, to) in REWRITES {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let is_vowel = |b: Option<&u8>| matches!(b, Some(b'a' | b'e' | b'i' | b'o' | b'u'));
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b'j') && is_vowel(bytes.get(1)) {
        s.replace_range(0..1, "i");
    }
    let bytes = s.as_bytes();
    if bytes.len() > 3 && bytes.starts_with(b"ie") && !is_vowel(bytes.get(2)) {
        s.remove(0);
    }
    let mut collapsed = String::with_capacity(s.len());
    for c in s.chars() {
        if !collapsed.ends_with(c) {
            collapsed.push(c);
        }
    }
    collapsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> NameKey {
        NameKey::new(s, NameKind::Person)
    }

    #[test]
    fn folding_strips_diacritics_and_transliterates_cyrillic() {
        assert_eq!(fold("Hélène DUBOIS-LEFÈVRE"), "helene dubois lefevre");
        assert_eq!(fold("Straße Øresund Łódź"), "strasse oresund lodz");
        assert_eq!(fold("Александр Соколов"), "aleksandr sokolov");
        assert_eq!(fold("O'Neill, L.L.C."), "oneill  llc");
    }

    #[test]
    fn transliteration_variants_share_one_token() {
        for (a, b) in [
            ("Mohamed", "Muhammad"),
            ("Yevgeny", "Evgeni"),
            ("Alexander", "Aleksandr"),
            ("Kozlovsky", "Kozlovskiy"),
            ("Khodzhaev", "Khodjaev"),
            ("Jurij", "Yuri"),
        ] {
            assert_eq!(key(a).tokens, key(b).tokens, "{a} / {b}");
        }
        assert_ne!(key("Michael").tokens, key("Mikhail").tokens);
    }

    #[test]
    fn order_particles_and_middle_names() {
        let listed = key("AL-RASHID, Mohammed Khalid");
        let exact = compare(&key("Muhammad Khaled Al Rashid"), &listed);
        assert!(exact.score > 0.99, "{exact:?}");
        let without_middle = compare(&key("Mohamed Al-Rashid"), &listed);
        assert!(
            without_middle.score < exact.score && without_middle.score > 0.9,
            "{without_middle:?}"
        );
        assert_eq!(compare(&key("Rashid"), &listed).score, 0.0);
    }

    #[test]
    fn different_names_stay_apart() {
        let john = compare(&key("John Smith"), &key("SMITH, Joan"));
        assert!(john.weakest_pair < TOKEN_HIT_SIMILARITY, "{john:?}");
        let other = compare(&key("Maria Lopez"), &key("PETRENKO, Viktor Ivanovich"));
        assert!(other.score < 0.6, "{other:?}");
    }

    #[test]
    fn legal_forms_are_ignored_for_organisations() {
        let a = NameKey::new("Northern Star Shipping L.L.C.", NameKind::Organisation);
        let b = NameKey::new("NORTHERN STAR SHIPPING LLC", NameKind::Organisation);
        assert_eq!(a, b);
        assert_eq!(a.tokens.len(), 3);
    }
}
