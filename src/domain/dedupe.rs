//! Normalising e-mail addresses and phone numbers, the keys by which one person is recognised.

/// Trimmed and lower-cased: `  Ann@Example.COM ` and `ann@example.com` are one person.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("has characters other than digits, spaces and + - . ( ) /")]
    BadCharacters,
    #[error("has {0} digits with its country code; a phone number has 8 to 15")]
    BadLength(usize),
}

/// Digits with the country code: `+44 20 7946 0958`, `0044 20 7946 0958`, `+44 (0)20 7946
/// 0958` and, with default country code 44, `020 7946 0958` and `44 20 7946 0958` all become
/// `442079460958`. A national number starting with a single trunk 0 loses it before the
/// default country code is prefixed; one that already starts with that code and is long
/// enough to hold it (`1 200 000 0007` with code 1) keeps it.
pub fn normalize_phone(phone: &str, default_country_code: &str) -> Result<String, PhoneError> {
    let t = phone.trim();
    if t.chars()
        .any(|c| !(c.is_ascii_digit() || " +-.()/".contains(c)))
    {
        return Err(PhoneError::BadCharacters);
    }
    let international = t.starts_with('+') || t.starts_with("00");
    // "+44 (0)20": the trunk 0 of the national form, written beside the country code.
    let t = if international {
        t.replace("(0)", "")
    } else {
        t.to_string()
    };
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let cc = default_country_code;
    let full = if t.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if !cc.is_empty() && digits.starts_with(cc) && digits.len() >= cc.len() + 10 {
        digits
    } else {
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        format!("{default_country_code}{national}")
    };
    if !(8..=15).contains(&full.len()) {
        return Err(PhoneError::BadLength(full.len()));
    }
    Ok(full)
}

/// Mail providers whose addresses belong to people, not companies: an address there says
/// nothing about an employer (the learned score) and a shared domain there joins no one
/// (`dupes`).
pub const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mail.ru",
    "yandex.ru",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "zoho.com",
    "qq.com",
    "163.com",
];
