//! Finding the duplicates the arrival check missed: two cards that are likely one person.
//!
//! The arrival check (`dedupe`) matches an exact e-mail or phone. What it misses, and how it is
//! found here, each by a blocking key shared by the pair (never by comparing every pair):
//! - the same name at the same company with another e-mail (key: the name's words, sorted,
//!   and the company without its legal form);
//! - an e-mail that differs by a `+tag`, or by dots at Gmail (key: the address so reduced);
//! - an e-mail that differs by one typo (key: each address with one character deleted, so
//!   that two addresses one edit apart share a key; then the distance is checked);
//! - the same phone written differently (key: its last 9 digits);
//! - the same company domain and family name, with first names that agree (`Jon`, `Jonathan`,
//!   `J.`) (key: domain and family name).
//!
//! A block larger than `MAX_BLOCK` says nothing about anyone (a family name at a big company's
//! domain) and is skipped. Each pair is told with why it matched and a confidence; pairs found
//! by several keys are surer.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::LeadId;

/// What the finder looks at of a lead.
#[derive(Debug, Clone, Default)]
pub struct Card {
    pub id: LeadId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// Why two cards look like one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    SameNameAndCompany,
    EmailAlias,
    EmailTypo,
    SamePhone,
    SameDomainAndName,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::SameNameAndCompany => "same name and company",
            Reason::EmailAlias => "same e-mail but for a +tag or dots",
            Reason::EmailTypo => "e-mails one typo apart",
            Reason::SamePhone => "same phone written differently",
            Reason::SameDomainAndName => "same company domain and family name",
        }
    }
}

/// A likely pair: `a` < `b`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub a: LeadId,
    pub b: LeadId,
    pub reasons: Vec<Reason>,
    /// 0-100: how sure.
    pub confidence: u8,
}

/// Blocks above this size are skipped: their key is too common to mean one person.
pub const MAX_BLOCK: usize = 40;

/// The most pairs one search keeps (a store whose names repeat within companies, such as a
/// million demo leads, has millions): the pairs found first are kept, each with every reason
/// it has, so memory stays bounded.
pub const MAX_PAIRS: usize = 200_000;

/// Legal forms dropped from a company's name ("Acme Inc." is "acme").
const LEGAL: &[&str] = &[
    "inc", "ltd", "llc", "gmbh", "ag", "sa", "sas", "srl", "bv", "plc", "co", "corp", "limited",
    "company", "oy", "ab", "as", "spa", "kg",
];

/// The words of a text, lower-cased, letters and digits only.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn name_key(name: &str) -> Option<String> {
    let mut w = words(name);
    if w.len() < 2 {
        return None;
    }
    w.sort();
    Some(w.join(" "))
}

fn company_key(company: &str) -> Option<String> {
    let w: Vec<String> = words(company)
        .into_iter()
        .filter(|w| !LEGAL.contains(&w.as_str()))
        .collect();
    (!w.is_empty()).then(|| w.join(" "))
}

/// An address without its `+tag` (and, at Gmail, its dots): what the mailbox is.
pub fn mailbox(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.rsplit_once('@')?;
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let local = local.split('+').next().unwrap_or(local);
    let local = if domain == "gmail.com" {
        local.replace('.', "")
    } else {
        local.to_string()
    };
    Some(format!("{local}@{domain}"))
}

fn domain(email: &str) -> Option<String> {
    let d = email.trim().rsplit_once('@')?.1.to_lowercase();
    (!super::dedupe::FREE_MAIL.contains(&d.as_str())).then_some(d)
}

/// A phone's last 9 digits: what stays the same however the number is written.
fn phone_tail(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 9).then(|| digits[digits.len() - 9..].to_string())
}

/// Whether two first names can be one person's: equal, or one the start of the other
/// ("Jon", "Jonathan", "J").
fn first_names_agree(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Whether two names share a word.
fn names_meet(a: &str, b: &str) -> bool {
    let wa = words(a);
    words(b).iter().any(|w| w.len() > 1 && wa.contains(w))
}

/// Every likely pair among `cards`, surest first.
pub fn find(cards: &[Card]) -> Vec<Pair> {
    let mut found: BTreeMap<(usize, usize), Vec<Reason>> = BTreeMap::new();
    let mut note = |i: usize, j: usize, r: Reason| {
        let key = (i.min(j), i.max(j));
        if found.len() >= MAX_PAIRS && !found.contains_key(&key) {
            return;
        }
        let reasons = found.entry(key).or_default();
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    };
    // Every (key, card) as a hash of the key and its reason, sorted so that a block is a run:
    // 16 bytes an entry, where a map of the keys' text took ~7 KB a lead at 100k leads. Two
    // keys that share a hash only join a block; `confirm` looks at every pair whole.
    let mut keyed: Vec<(u64, u32, Reason)> = Vec::new();
    for (i, c) in cards.iter().enumerate() {
        let mut key = |r: Reason, k: String| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (r, k).hash(&mut h);
            keyed.push((h.finish(), i as u32, r));
        };
        if let (Some(n), Some(co)) = (
            name_key(&c.name),
            c.company.as_deref().and_then(company_key),
        ) {
            key(Reason::SameNameAndCompany, format!("{n}|{co}"));
        }
        if let Some(e) = &c.email {
            if let Some(m) = mailbox(e) {
                key(Reason::EmailAlias, m.clone());
                // Two addresses one edit apart in the local part share it with one character
                // deleted (or one is the other with one deleted), at the same domain; one
                // edit apart in the domain, they share the local part.
                let (local, dom) = m.rsplit_once('@').unwrap_or((&m, ""));
                key(Reason::EmailTypo, m.clone());
                key(Reason::EmailTypo, format!("{local}@"));
                let chars: Vec<char> = local.chars().collect();
                for skip in 0..chars.len() {
                    let k: String = chars
                        .iter()
                        .enumerate()
                        .filter(|&(at, _)| at != skip)
                        .map(|(_, c)| c)
                        .collect();
                    key(Reason::EmailTypo, format!("{k}@{dom}"));
                }
            }
            if let (Some(d), Some(last)) = (domain(e), words(&c.name).last().cloned()) {
                key(Reason::SameDomainAndName, format!("{d}|{last}"));
            }
        }
        if let Some(t) = c.phone.as_deref().and_then(phone_tail) {
            key(Reason::SamePhone, t);
        }
    }
    keyed.sort_unstable();
    keyed.dedup();
    for block in keyed.chunk_by(|x, y| x.0 == y.0) {
        if block.len() < 2 || block.len() > MAX_BLOCK {
            continue;
        }
        for (x, &(_, i, reason)) in block.iter().enumerate() {
            for &(_, j, other) in &block[x + 1..] {
                let (i, j) = (i as usize, j as usize);
                if i != j && reason == other && confirm(reason, &cards[i], &cards[j]) {
                    note(i, j, reason);
                }
            }
        }
    }
    let mut pairs: Vec<Pair> = found
        .into_iter()
        .map(|((i, j), mut reasons)| {
            reasons.sort();
            let (a, b) = (cards[i].id.min(cards[j].id), cards[i].id.max(cards[j].id));
            let confidence = confidence(&reasons, &cards[i], &cards[j]);
            Pair {
                a,
                b,
                reasons,
                confidence,
            }
        })
        .collect();
    pairs.sort_by(|p, q| {
        q.confidence
            .cmp(&p.confidence)
            .then((p.a, p.b).cmp(&(q.a, q.b)))
    });
    pairs
}

/// Whether a pair sharing a block of `reason` holds up when looked at whole.
fn confirm(reason: Reason, a: &Card, b: &Card) -> bool {
    let lower = |e: &Option<String>| e.as_deref().map(|e| e.trim().to_lowercase());
    let (ea, eb) = (lower(&a.email), lower(&b.email));
    match reason {
        // The arrival check already joins an exact e-mail: a pair here has another one.
        Reason::SameNameAndCompany => ea != eb || ea.is_none(),
        Reason::EmailAlias => ea != eb,
        Reason::EmailTypo => match (
            a.email.as_deref().and_then(mailbox),
            b.email.as_deref().and_then(mailbox),
        ) {
            (Some(x), Some(y)) => x != y && strsim::damerau_levenshtein(&x, &y) == 1,
            _ => false,
        },
        Reason::SamePhone => true,
        Reason::SameDomainAndName => {
            let (fa, fb) = (words(&a.name), words(&b.name));
            ea != eb && fa.len() >= 2 && fb.len() >= 2 && first_names_agree(&fa[0], &fb[0])
        }
    }
}

/// How sure a pair is: its surest reason, surer for each other one; a typo or a phone shared
/// by two people with nothing else in common is only a hint, and so is a typo beside names
/// that differ too ("alma.zeller" and "alma.keller" of Alma Zeller and Alma Keller).
fn confidence(reasons: &[Reason], a: &Card, b: &Card) -> u8 {
    let meet = names_meet(&a.name, &b.name);
    let same_name = name_key(&a.name).is_some() && name_key(&a.name) == name_key(&b.name);
    let base = reasons
        .iter()
        .map(|r| match r {
            Reason::EmailAlias => 95,
            Reason::SamePhone if meet => 92,
            Reason::SamePhone => 55,
            Reason::SameNameAndCompany => 85,
            Reason::EmailTypo if same_name => 85,
            Reason::EmailTypo => 45,
            Reason::SameDomainAndName => 70,
        })
        .max()
        .unwrap_or(0);
    let extra = 5 * (reasons.len().saturating_sub(1)) as u32;
    (base + extra).min(99) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: LeadId, name: &str, email: &str, phone: &str, company: &str) -> Card {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Card {
            id,
            name: name.into(),
            email: opt(email),
            phone: opt(phone),
            company: opt(company),
        }
    }

    #[test]
    fn each_kind_of_duplicate_is_found_with_its_reason() {
        let cards = vec![
            card(1, "Ann Lee", "ann@acme.example", "", "Acme Inc."),
            card(2, "Lee Ann", "ann.lee@home.example", "", "ACME"),
            card(3, "Bo Chen", "bo.chen+crm@gmail.com", "", ""),
            card(4, "Bo Chen", "bochen@googlemail.com", "", ""),
            card(5, "Cy Diaz", "cy.diaz@globex.example", "", ""),
            card(6, "Cy Diaz", "cy.daiz@globex.example", "", ""),
            card(7, "Dee Ford", "", "+44 20 7946 0958", ""),
            card(8, "D Ford", "", "020 7946 0958", ""),
            card(9, "Jon Grant", "jon@initech.example", "", ""),
            card(10, "Jonathan Grant", "j.grant@initech.example", "", ""),
            card(11, "Eve Hall", "eve@hooli.example", "", "Hooli"),
        ];
        let pairs = find(&cards);
        let reason = |a, b| {
            pairs
                .iter()
                .find(|p| (p.a, p.b) == (a, b))
                .map(|p| p.reasons.clone())
                .unwrap_or_default()
        };
        assert_eq!(reason(1, 2), vec![Reason::SameNameAndCompany]);
        assert_eq!(reason(3, 4), vec![Reason::EmailAlias]);
        assert!(reason(5, 6).contains(&Reason::EmailTypo));
        assert_eq!(reason(7, 8), vec![Reason::SamePhone]);
        assert_eq!(reason(9, 10), vec![Reason::SameDomainAndName]);
        assert_eq!(pairs.len(), 5, "{pairs:?}");
        assert!(pairs.iter().all(|p| p.confidence >= 70), "{pairs:?}");
    }

    #[test]
    fn people_who_only_share_a_common_key_are_not_paired() {
        let cards = vec![
            card(1, "Ann Lee", "ann@acme.example", "", ""),
            card(2, "Bob Lee", "bob@acme.example", "", ""),
            card(3, "Ann Lee", "ann@globex.example", "", "Globex"),
            card(4, "Ann Lee", "annlee@initech.example", "", "Initech"),
        ];
        assert_eq!(find(&cards), vec![]);
    }
}
