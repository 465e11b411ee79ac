//! Normalization and validation of contact data: emails, E.164 phones, ISO countries and
//! languages, and free-text fields.

use crate::{Error, Result};

/// ISO 3166-1 alpha-2 codes currently assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE \
GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP \
KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF \
NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN \
SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Uppercases and checks an ISO 3166-1 alpha-2 country code.
/// An optional field: absent or blank is `None`, anything else must pass `check`.
pub fn optional(
    value: Option<String>,
    check: impl Fn(&str) -> Result<String>,
) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => check(&v).map(Some),
    }
}

pub fn country(field: &str, raw: &str) -> Result<String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code) {
        Ok(code)
    } else {
        Err(Error::invalid(
            "invalid_country",
            field,
            "country must be an ISO 3166-1 alpha-2 code such as GB or DE",
        ))
    }
}

/// A BCP 47 language tag limited to `ll` or `ll-RR` (ISO 639-1 language, optional region).
pub fn language(field: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    let (lang, region) = match raw.split_once(['-', '_']) {
        Some((l, r)) => (l, Some(r)),
        None => (raw, None),
    };
    let lang_ok = lang.len() == 2 && lang.bytes().all(|b| b.is_ascii_alphabetic());
    let region_ok =
        region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_alphabetic()));
    if !(lang_ok && region_ok) {
        return Err(Error::invalid(
            "invalid_language",
            field,
            "language must be an ISO 639-1 code, optionally with a region (en, pt-BR)",
        ));
    }
    Ok(match region {
        Some(r) => format!("{}-{}", lang.to_ascii_lowercase(), r.to_ascii_uppercase()),
        None => lang.to_ascii_lowercase(),
    })
}

/// Lowercases and validates an email address (RFC 5321 lengths, dot-atom local part,
/// a domain of letter/digit/hyphen labels with an alphabetic top-level label).
pub fn email(field: &str, raw: &str) -> Result<String> {
    let bad =
        |why: &str| Error::invalid("invalid_email", field, format!("email is not valid: {why}"));
    let email = raw.trim().to_lowercase();
    if email.len() > 254 {
        return Err(bad("longer than 254 characters"));
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(|| bad("missing '@'"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(bad("the part before '@' must be 1 to 64 characters"));
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    if local
        .split('.')
        .any(|part| part.is_empty() || !part.chars().all(atext))
    {
        return Err(bad(
            "the part before '@' has characters or dots that are not allowed",
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || domain.len() > 253 {
        return Err(bad("the domain must have at least two labels"));
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !labels.iter().all(label_ok) {
        return Err(bad("the domain has an invalid label"));
    }
    let tld = labels.last().expect("at least two labels");
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad("the top-level domain must be alphabetic"));
    }
    Ok(email)
}

/// Parses a phone number written in international form, or in national form for
/// `default_country`, and returns it in E.164 (`+442079460958`) when it is a valid number.
pub fn phone_e164(field: &str, raw: &str, default_country: &str) -> Result<String> {
    let bad =
        |why: &str| Error::invalid("invalid_phone", field, format!("phone is not valid: {why}"));
    let raw = raw.trim();
    if raw.len() > 32 {
        return Err(bad("longer than 32 characters"));
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err(bad(
            "only digits, spaces, '+', '-', '.', and parentheses are allowed",
        ));
    }
    let region = default_country.parse::<phonenumber::country::Id>().ok();
    let number = phonenumber::parse(region, raw).map_err(|_| bad("cannot be parsed"))?;
    if !phonenumber::is_valid(&number) {
        return Err(bad("not a valid number for its country"));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Trims a free-text field, refuses control characters and enforces a length in characters.
pub fn text(field: &str, raw: &str, max_chars: usize) -> Result<String> {
    let value = raw.trim();
    if value.chars().count() > max_chars {
        return Err(Error::invalid(
            "too_long",
            field,
            format!("{field} must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(
            "invalid_characters",
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_string())
}

/// Like [`text`], and refuses an empty value.
pub fn required_text(field: &str, raw: &str, max_chars: usize) -> Result<String> {
    let value = text(field, raw, max_chars)?;
    if value.is_empty() {
        return Err(Error::invalid(
            "required",
            field,
            format!("{field} is required"),
        ));
    }
    Ok(value)
}

/// An identifier chosen by people (referral codes, agent ids): letters, digits, `-` and `_`.
pub fn code(field: &str, raw: &str, max_len: usize) -> Result<String> {
    let value = raw.trim();
    if value.is_empty()
        || value.len() > max_len
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "invalid_code",
            field,
            format!("{field} must be 1 to {max_len} letters, digits, '-' or '_'"),
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email("email", " John.Doe+fx@Example.COM ").unwrap(),
            "john.doe+fx@example.com"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "a@@b.com",
            ".a@b.com",
            "a..b@c.com",
            "a@-b.com",
            "a@b.c0m",
            "a b@c.com",
        ] {
            let err = email("email", bad).unwrap_err();
            assert_eq!(err.code(), "invalid_email", "{bad}");
        }
    }

    #[test]
    fn phones_to_e164() {
        assert_eq!(
            phone_e164("phone", "+44 20 7946 0958", "DE").unwrap(),
            "+442079460958"
        );
        assert_eq!(
            phone_e164("phone", "020 7946 0958", "GB").unwrap(),
            "+442079460958"
        );
        assert_eq!(
            phone_e164("phone", "(030) 901820", "DE").unwrap(),
            "+4930901820"
        );
        for bad in ["12", "+44 20", "abc", "+1 555 5555 55555 5555"] {
            assert_eq!(
                phone_e164("phone", bad, "GB").unwrap_err().code(),
                "invalid_phone",
                "{bad}"
            );
        }
    }

    #[test]
    fn countries_and_languages() {
        assert_eq!(country("country", "gb").unwrap(), "GB");
        assert!(country("country", "UK").is_err());
        assert!(country("country", "GBR").is_err());
        assert_eq!(language("language", "pt_br").unwrap(), "pt-BR");
        assert!(language("language", "english").is_err());
    }

    #[test]
    fn text_limits() {
        assert_eq!(text("name", "  Ann ", 10).unwrap(), "Ann");
        assert!(text("name", "a\u{0}b", 10).is_err());
        assert!(text("name", &"x".repeat(11), 10).is_err());
        assert!(required_text("name", "  ", 10).is_err());
    }
}
