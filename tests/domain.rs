//! Domain rules, table-driven, with a fixed clock: scoring, decay, explanations, temperature,
//! stages, dedupe normalisation, validation, merging, date parsing and sanitising.

use std::collections::BTreeMap;

use chrono::{Datelike, Local, NaiveDate, NaiveTime, TimeZone, Timelike, Weekday};
use leadq::domain::dedupe::{PhoneError, normalize_email, normalize_phone};
use leadq::domain::lead::DedupeKeys;
use leadq::domain::sanitize::{for_csv_cell, for_display};
use leadq::domain::scoring::RulesError;
use leadq::domain::stage::{auto_transition, stage_after_won};
use leadq::domain::time::{DAY_MS, local_date, parse_when};
use leadq::domain::{
    Interaction, Kind, Lead, Millis, NewLead, Outcome, Rules, ScoreState, Stage, Temperature,
    ValidationError,
};

/// 2026-11-20T12:00:00Z, a Friday.
const NOW: Millis = 1_795_176_000_000;
const HOUR_MS: i64 = 3_600_000;

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A lead that no default fit rule fires for: a name and a non-free e-mail address only.
fn plain_request() -> NewLead {
    NewLead {
        name: "Ann Example".into(),
        email: Some("ann@example.com".into()),
        ..NewLead::default()
    }
}

fn lead_from(req: NewLead) -> Lead {
    Lead::from_request(7, &req.cleaned(), NOW - 90 * DAY_MS)
}

fn plain_lead() -> Lead {
    lead_from(plain_request())
}

fn ev(kind: Kind, outcome: Outcome, at: Millis) -> Interaction {
    Interaction {
        kind,
        outcome: Some(outcome),
        author: "alice".into(),
        at,
        note: None,
        duration_secs: None,
        closed_as: None,
    }
}

fn call(outcome: Outcome, at: Millis) -> Interaction {
    ev(Kind::Call, outcome, at)
}

fn days_ago(d: f64) -> Millis {
    NOW - (d * DAY_MS as f64) as Millis
}

// ---------------------------------------------------------------- scoring: fit

#[test]
fn default_rules_parse() {
    let rules = Rules::defaults();
    assert_eq!(rules.engagement.half_life_days, 14.0);
    assert_eq!(
        (
            rules.temperature.warm,
            rules.temperature.hot,
            rules.temperature.hysteresis
        ),
        (35, 65, 5)
    );
}

#[test]
fn fit_rules_fire_as_documented() {
    let rules = Rules::defaults();
    type Case = (&'static str, fn(&mut NewLead), &'static [&'static str], f64);
    let cases: &[Case] = &[
        ("nothing known", |_| {}, &[], 0.0),
        (
            "CEO",
            |r| r.attributes = attrs(&[("title", "CEO")]),
            &["decision-maker title"],
            15.0,
        ),
        (
            "head of, any case",
            |r| r.attributes = attrs(&[("title", "HEAD OF Sales")]),
            &["decision-maker title"],
            15.0,
        ),
        (
            "vice president",
            |r| r.attributes = attrs(&[("title", "Vice President, Operations")]),
            &["decision-maker title"],
            15.0,
        ),
        (
            "co-founder",
            |r| r.attributes = attrs(&[("title", "Co-Founder")]),
            &["decision-maker title"],
            15.0,
        ),
        (
            "manager",
            |r| r.attributes = attrs(&[("title", "Marketing Manager")]),
            &["manager title"],
            7.0,
        ),
        (
            "procurement lead",
            |r| r.attributes = attrs(&[("title", "Procurement Lead")]),
            &["manager title"],
            7.0,
        ),
        (
            "senior vice president, short",
            |r| r.attributes = attrs(&[("title", "SVP Sales")]),
            &["decision-maker title"],
            15.0,
        ),
        (
            "team leader",
            |r| r.attributes = attrs(&[("title", "Team Leader")]),
            &["manager title"],
            7.0,
        ),
        (
            "engineer",
            |r| r.attributes = attrs(&[("title", "Engineer")]),
            &[],
            0.0,
        ),
        // "cto", "coo" and "lead" are words, not fragments of other titles.
        (
            "doctor is not a CTO",
            |r| r.attributes = attrs(&[("title", "Doctor")]),
            &[],
            0.0,
        ),
        (
            "contractor is not a CTO",
            |r| r.attributes = attrs(&[("title", "Contractor")]),
            &[],
            0.0,
        ),
        (
            "coordinator is not a COO",
            |r| r.attributes = attrs(&[("title", "Marketing Coordinator")]),
            &[],
            0.0,
        ),
        (
            "pleading is not a lead",
            |r| r.attributes = attrs(&[("title", "Pleading Clerk")]),
            &[],
            0.0,
        ),
        (
            "company size 80",
            |r| r.attributes = attrs(&[("company_size", "80")]),
            &["mid-size or larger company"],
            10.0,
        ),
        (
            "company size range 51-200 reads as 51",
            |r| r.attributes = attrs(&[("company_size", "51-200")]),
            &["mid-size or larger company"],
            10.0,
        ),
        (
            "company size 1,000+",
            |r| r.attributes = attrs(&[("company_size", "1,000+")]),
            &["mid-size or larger company"],
            10.0,
        ),
        (
            "company size exactly 50",
            |r| r.attributes = attrs(&[("company_size", "50")]),
            &["mid-size or larger company"],
            10.0,
        ),
        (
            "company size attribute spelled with a space",
            |r| r.attributes = attrs(&[("Company Size", "250")]),
            &["mid-size or larger company"],
            10.0,
        ),
        (
            "company size 12",
            |r| r.attributes = attrs(&[("company_size", "12")]),
            &[],
            0.0,
        ),
        (
            "company size 3",
            |r| r.attributes = attrs(&[("company_size", "3")]),
            &["very small company"],
            -5.0,
        ),
        (
            "company size not a number",
            |r| r.attributes = attrs(&[("company_size", "unknown")]),
            &[],
            0.0,
        ),
        (
            "web form",
            |r| r.source = Some("Web-Form".into()),
            &["inbound source"],
            10.0,
        ),
        (
            "referral",
            |r| r.source = Some("referral".into()),
            &["inbound source"],
            10.0,
        ),
        (
            "trade show",
            |r| r.source = Some("trade-show".into()),
            &["partner or trade-show source"],
            6.0,
        ),
        (
            "cold list",
            |r| r.source = Some("cold-list".into()),
            &["cold list"],
            -5.0,
        ),
        (
            "ad campaign",
            |r| r.source = Some("ad-campaign".into()),
            &[],
            0.0,
        ),
        (
            "has a company",
            |r| r.company = Some("Acme".into()),
            &["has a company"],
            5.0,
        ),
        (
            "has a phone",
            |r| r.phone = Some("+44 20 7946 0958".into()),
            &["has a phone"],
            3.0,
        ),
        (
            "free-mail address, any case",
            |r| r.email = Some("Ann@GMail.com".into()),
            &["free-mail address"],
            -5.0,
        ),
        (
            "budget stated",
            |r| r.attributes = attrs(&[("budget", "50k")]),
            &["budget stated"],
            5.0,
        ),
        (
            "poor fit on every count",
            |r| {
                r.email = Some("ann@yahoo.com".into());
                r.source = Some("cold-list".into());
                r.attributes = attrs(&[("company_size", "2")]);
            },
            &["very small company", "cold list", "free-mail address"],
            -15.0,
        ),
        (
            "everything good is capped at 40",
            |r| {
                r.company = Some("Acme".into());
                r.phone = Some("+44 20 7946 0958".into());
                r.source = Some("web-form".into());
                r.attributes = attrs(&[
                    ("title", "CEO"),
                    ("company_size", "250"),
                    ("budget", "100k"),
                ]);
            },
            &[
                "decision-maker title",
                "mid-size or larger company",
                "inbound source",
                "has a company",
                "has a phone",
                "budget stated",
            ],
            40.0,
        ),
    ];
    for (what, edit, fired, fit) in cases {
        let mut req = plain_request();
        edit(&mut req);
        let lead = lead_from(req);
        let names: Vec<String> = rules.fit_items(&lead).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, *fired, "{what}: rules fired");
        assert_eq!(rules.fit(&lead), *fit, "{what}: fit points");
    }
}

#[test]
fn fit_is_clamped_to_its_floor() {
    let text = r#"
[temperature]
warm = 35
hot = 65
hysteresis = 5

[fit]
min = -20
max = 40

[[fit.rule]]
name = "no company"
field = "company"
present = false
points = -15

[[fit.rule]]
name = "no phone"
field = "phone"
present = false
points = -15

[engagement]
half_life_days = 14
min = -30
max = 70
"#;
    let rules = Rules::parse(text, "floor.toml").unwrap();
    let lead = plain_lead();
    assert_eq!(rules.fit_items(&lead).len(), 2);
    assert_eq!(rules.fit(&lead), -20.0);
    let e = rules.explain(&lead, &[], NOW);
    assert_eq!(e.score, 0);
    assert!(
        e.items
            .iter()
            .any(|i| i.rule == "fit cap" && i.points == 10.0),
        "{e:?}"
    );
}

// ---------------------------------------------------------------- scoring: engagement

#[test]
fn engagement_points_halve_every_fourteen_days() {
    let rules = Rules::defaults();
    let lead = plain_lead();
    // (age in days, points left of a +15 connected call, score)
    let cases: &[(f64, f64, u8)] = &[
        (0.0, 15.0, 15),
        (7.0, 15.0 / 2f64.sqrt(), 11),
        (14.0, 7.5, 8),
        (28.0, 3.75, 4),
        (42.0, 1.875, 2),
        (140.0, 15.0 / 1024.0, 0),
    ];
    for &(age, left, score) in cases {
        let timeline = [call(Outcome::Connected, days_ago(age))];
        let state = rules.compute(&lead, &timeline, NOW);
        assert!(
            (state.sum - left).abs() < 1e-9,
            "after {age} days: {} points left, expected {left}",
            state.sum
        );
        assert_eq!(state.score(&rules, NOW), score, "after {age} days");
        let e = rules.explain(&lead, &timeline, NOW);
        assert_eq!(e.score, score, "explained score after {age} days");
    }
    // The same call, carried forward instead of recomputed.
    let fresh = rules.compute(&lead, &[call(Outcome::Connected, NOW)], NOW);
    let later = fresh.advanced(&rules, NOW + 14 * DAY_MS);
    assert!((later.sum - 7.5).abs() < 1e-9, "{later:?}");
}

#[test]
fn engagement_is_capped() {
    let rules = Rules::defaults();
    let lead = plain_lead();
    let held = |n: usize| -> Vec<Interaction> {
        (0..n)
            .map(|_| ev(Kind::Meeting, Outcome::Held, NOW))
            .collect()
    };
    let unsubscribed = |n: usize| -> Vec<Interaction> {
        (0..n)
            .map(|_| ev(Kind::Email, Outcome::Unsubscribed, NOW))
            .collect()
    };
    // (what, timeline, score, engagement as explained)
    let cases: Vec<(&str, Vec<Interaction>, u8, f64)> = vec![
        ("two meetings held", held(2), 50, 50.0),
        ("three meetings held: 75 capped at 70", held(3), 70, 70.0),
        ("ten meetings held", held(10), 70, 70.0),
        ("one unsubscribe", unsubscribed(1), 0, -30.0),
        (
            "two unsubscribes: -60 capped at -30",
            unsubscribed(2),
            0,
            -30.0,
        ),
    ];
    for (what, timeline, score, engagement) in cases {
        let state = rules.compute(&lead, &timeline, NOW);
        assert_eq!(state.score(&rules, NOW), score, "{what}");
        let e = rules.explain(&lead, &timeline, NOW);
        assert_eq!(e.engagement, engagement, "{what}");
        assert_eq!(e.score, score, "{what}");
    }
    // The caps apply to the net sum: two unsubscribes (-60) and three meetings held (+75) net
    // 15, not -30 + 70.
    let mut mixed = unsubscribed(2);
    mixed.extend(held(3));
    assert_eq!(rules.compute(&lead, &mixed, NOW).score(&rules, NOW), 15);
}

#[test]
fn score_is_clamped_between_0_and_100() {
    let rules = Rules::defaults();
    let strong = lead_from(NewLead {
        company: Some("Acme".into()),
        phone: Some("+44 20 7946 0958".into()),
        source: Some("web-form".into()),
        attributes: attrs(&[("title", "CEO"), ("company_size", "250")]),
        ..plain_request()
    });
    let weak = lead_from(NewLead {
        email: Some("ann@gmail.com".into()),
        source: Some("cold-list".into()),
        attributes: attrs(&[("company_size", "2")]),
        ..plain_request()
    });
    let held: Vec<Interaction> = (0..4)
        .map(|_| ev(Kind::Meeting, Outcome::Held, NOW))
        .collect();
    let bad: Vec<Interaction> = (0..2)
        .map(|_| ev(Kind::Email, Outcome::Unsubscribed, NOW))
        .collect();
    // fit 40 + engagement 70 = 110; fit -15 + engagement -30 = -45
    for (what, lead, timeline, score) in [
        ("above 100", &strong, &held, 100u8),
        ("below 0", &weak, &bad, 0u8),
    ] {
        assert_eq!(
            rules.compute(lead, timeline, NOW).score(&rules, NOW),
            score,
            "{what}"
        );
        assert_eq!(rules.explain(lead, timeline, NOW).score, score, "{what}");
    }
}

#[test]
fn an_engagement_rule_limited_to_sources_only_counts_for_them() {
    let rules = Rules::defaults();
    let created = [ev(Kind::System, Outcome::Created, NOW)];
    for (source, points) in [
        (Some("web-form"), 25.0),
        (Some("referral"), 25.0),
        (Some("cold-list"), 0.0),
        (None, 0.0),
    ] {
        let lead = lead_from(NewLead {
            source: source.map(String::from),
            ..plain_request()
        });
        let fit = rules.fit(&lead);
        let state = rules.compute(&lead, &created, NOW);
        assert_eq!(state.sum, points, "created, source {source:?}");
        assert_eq!(
            state.score(&rules, NOW),
            (fit + points) as u8,
            "created, source {source:?}"
        );
    }
}

// ---------------------------------------------------------------- scoring: explanation

fn timelines() -> Vec<(&'static str, Lead, Vec<Interaction>)> {
    let rich = lead_from(NewLead {
        company: Some("Acme".into()),
        phone: Some("+44 20 7946 0958".into()),
        source: Some("web-form".into()),
        attributes: attrs(&[("title", "VP Sales"), ("company_size", "80")]),
        ..plain_request()
    });
    let poor = lead_from(NewLead {
        email: Some("ann@gmail.com".into()),
        source: Some("cold-list".into()),
        attributes: attrs(&[("company_size", "3")]),
        ..plain_request()
    });
    vec![
        ("empty timeline", plain_lead(), vec![]),
        (
            "one fresh call",
            plain_lead(),
            vec![call(Outcome::Connected, NOW)],
        ),
        (
            "inbound lead worked for a month",
            rich.clone(),
            vec![
                ev(Kind::System, Outcome::Created, days_ago(30.0)),
                call(Outcome::NoAnswer, days_ago(29.0)),
                call(Outcome::Voicemail, days_ago(28.5)),
                call(Outcome::Connected, days_ago(27.0)),
                ev(Kind::Email, Outcome::Sent, days_ago(26.0)),
                ev(Kind::Email, Outcome::Replied, days_ago(20.0)),
                ev(Kind::Meeting, Outcome::Scheduled, days_ago(12.0)),
                ev(Kind::Meeting, Outcome::Held, days_ago(5.0)),
                call(Outcome::Connected, days_ago(1.0)),
            ],
        ),
        (
            "good news and bad news",
            rich.clone(),
            vec![
                ev(Kind::Inbound, Outcome::FormSubmitted, days_ago(10.0)),
                call(Outcome::WrongNumber, days_ago(9.0)),
                ev(Kind::Email, Outcome::Bounced, days_ago(2.0)),
                ev(Kind::Meeting, Outcome::NoShow, days_ago(0.5)),
            ],
        ),
        (
            "capped engagement",
            rich,
            (0..6)
                .map(|i| ev(Kind::Meeting, Outcome::Held, days_ago(f64::from(i))))
                .collect(),
        ),
        (
            "poor fit, gone quiet",
            poor.clone(),
            vec![
                ev(Kind::Email, Outcome::Unsubscribed, days_ago(3.0)),
                call(Outcome::WrongNumber, days_ago(2.0)),
            ],
        ),
        (
            "poor fit, recent interest",
            poor,
            vec![
                ev(Kind::Inbound, Outcome::PageVisit, days_ago(2.0)),
                ev(Kind::Inbound, Outcome::PageVisit, days_ago(1.0)),
                ev(Kind::Inbound, Outcome::Download, days_ago(0.1)),
            ],
        ),
    ]
}

#[test]
fn explanation_items_sum_to_the_score_and_name_each_rule() {
    let rules = Rules::defaults();
    for (what, lead, timeline) in timelines() {
        let e = rules.explain(&lead, &timeline, NOW);
        let state = rules.compute(&lead, &timeline, NOW);
        assert_eq!(e.score, state.score(&rules, NOW), "{what}: explained score");
        let sum: f64 = e.items.iter().map(|i| i.points).sum();
        let tolerance = 0.5 + 0.05 * e.items.len() as f64 + 1e-9;
        assert!(
            (sum - f64::from(e.score)).abs() <= tolerance,
            "{what}: items sum to {sum}, score is {}: {e:#?}",
            e.score
        );
        // Every rule that contributed is named.
        let mut expected: Vec<String> =
            rules.fit_items(&lead).into_iter().map(|(n, _)| n).collect();
        for i in &timeline {
            if let Some(r) = rules.engagement_rule(&lead, i) {
                expected.push(r.name.clone());
            }
        }
        for name in expected {
            assert!(
                e.items.iter().any(|i| i.rule.starts_with(&name)),
                "{what}: rule {name:?} is not named in {e:#?}"
            );
        }
    }
}

#[test]
fn explanation_counts_repeated_rules() {
    let rules = Rules::defaults();
    let timeline = [
        call(Outcome::Connected, days_ago(14.0)),
        call(Outcome::Connected, NOW),
    ];
    let e = rules.explain(&plain_lead(), &timeline, NOW);
    assert_eq!(e.items.len(), 1, "{e:?}");
    assert_eq!(e.items[0].rule, "connected call x2");
    assert_eq!(e.items[0].points, 22.5);
    assert_eq!(e.score, 23);
}

// ---------------------------------------------------------------- scoring: carried forward

#[test]
fn carried_forward_state_scores_like_a_recompute() {
    let rules = Rules::defaults();
    let later = [
        0,
        HOUR_MS,
        DAY_MS,
        7 * DAY_MS,
        14 * DAY_MS,
        45 * DAY_MS,
        200 * DAY_MS,
    ];
    for (what, lead, timeline) in timelines() {
        let cached = rules.compute(&lead, &timeline, NOW);
        for dt in later {
            let t = NOW + dt;
            let carried = cached.advanced(&rules, t);
            let fresh = rules.compute(&lead, &timeline, t);
            assert_eq!(
                carried.score(&rules, t),
                fresh.score(&rules, t),
                "{what}, {dt} ms later"
            );
            assert_eq!(cached.score(&rules, t), fresh.score(&rules, t), "{what}");
            assert!((carried.sum - fresh.sum).abs() < 1e-9, "{what}");
            assert!((carried.positive - fresh.positive).abs() < 1e-9, "{what}");
        }
    }
}

#[test]
fn state_built_one_interaction_at_a_time_matches_a_recompute() {
    let rules = Rules::defaults();
    for (what, lead, timeline) in timelines() {
        let Some(first) = timeline.first() else {
            continue;
        };
        let mut state = ScoreState {
            fit: rules.fit(&lead),
            ..ScoreState::zero(first.at)
        };
        for i in &timeline {
            state = state.advanced(&rules, i.at);
            state.add(&rules, &lead, i);
        }
        let end = NOW + 3 * DAY_MS;
        let fresh = rules.compute(&lead, &timeline, end);
        assert_eq!(state.score(&rules, end), fresh.score(&rules, end), "{what}");
        assert!(
            (state.advanced(&rules, end).sum - fresh.sum).abs() < 1e-9,
            "{what}"
        );
    }
}

#[test]
fn upper_bound_is_never_below_a_later_score() {
    let rules = Rules::defaults();
    for (what, lead, timeline) in timelines() {
        let state = rules.compute(&lead, &timeline, NOW);
        assert_eq!(state.bound, state.upper_bound(&rules), "{what}");
        for day in 0..=180 {
            for hour in [0, 7, 13] {
                let t = NOW + day * DAY_MS + hour * HOUR_MS;
                let score = state.score(&rules, t);
                assert!(
                    score <= state.bound,
                    "{what}: score {score} at day {day} is above the bound {}",
                    state.bound
                );
            }
        }
    }
    // Net bad news fades, so the score rises with time, still within the bound:
    // fit 20, a meeting held yesterday (+23.8) and an unsubscribe now (-30).
    let lead = lead_from(NewLead {
        company: Some("Acme".into()),
        attributes: attrs(&[("title", "CEO")]),
        ..plain_request()
    });
    let timeline = [
        ev(Kind::Meeting, Outcome::Held, days_ago(1.0)),
        ev(Kind::Email, Outcome::Unsubscribed, NOW),
    ];
    let state = rules.compute(&lead, &timeline, NOW);
    let now_score = state.score(&rules, NOW);
    let week_later = state.score(&rules, NOW + 7 * DAY_MS);
    assert!(week_later > now_score, "{now_score} -> {week_later}");
    assert!(week_later <= state.bound);
    assert!(now_score < state.bound);
}

// ---------------------------------------------------------------- temperature

#[test]
fn temperature_has_thresholds_with_hysteresis() {
    use Temperature::*;
    let t = Rules::defaults().temperature;
    // (score, temperature before, temperature after)
    let cases = [
        (0, Cold, Cold),
        (34, Cold, Cold),
        (35, Cold, Warm),
        (64, Cold, Warm),
        (65, Cold, Hot),
        (100, Cold, Hot),
        (64, Warm, Warm),
        (65, Warm, Hot),
        (61, Hot, Hot),
        (61, Warm, Warm),
        (60, Hot, Hot),
        (59, Hot, Warm),
        (31, Warm, Warm),
        (30, Warm, Warm),
        (29, Warm, Cold),
        (31, Hot, Warm),
        (29, Hot, Cold),
        (0, Hot, Cold),
    ];
    for (score, before, after) in cases {
        assert_eq!(
            t.classify(score, before),
            after,
            "score {score}, was {before}"
        );
    }
    assert_eq!(t.lowest_hot(), 60);
    assert_eq!(t.lowest_warm(), 30);
}

// ---------------------------------------------------------------- stages

#[test]
fn stages_move_forward_on_events_only() {
    use Outcome::{
        Chat, Connected, FormSubmitted, Held, NoAnswer, NoShow, Received, Replied, Scheduled, Sent,
        Voicemail,
    };
    use Stage::*;
    // (stage, kind, outcome, stage after; None = unchanged)
    let cases: &[(Stage, Kind, Option<Outcome>, Option<Stage>)] = &[
        (New, Kind::Call, Some(Connected), Some(Contacted)),
        (Nurture, Kind::Call, Some(Connected), Some(Contacted)),
        (Contacted, Kind::Call, Some(Connected), None),
        (Opportunity, Kind::Call, Some(Connected), None),
        (New, Kind::Call, Some(NoAnswer), None),
        (New, Kind::Call, Some(Voicemail), None),
        (New, Kind::Email, Some(Sent), None),
        (New, Kind::Email, Some(Replied), Some(Contacted)),
        (New, Kind::Email, Some(Received), Some(Contacted)),
        (New, Kind::Inbound, Some(Chat), Some(Contacted)),
        (New, Kind::Meeting, Some(Scheduled), Some(Qualified)),
        (Contacted, Kind::Meeting, Some(Scheduled), Some(Qualified)),
        (Opportunity, Kind::Meeting, Some(Scheduled), None),
        (Qualified, Kind::Meeting, Some(Held), Some(Opportunity)),
        (New, Kind::Meeting, Some(Held), Some(Opportunity)),
        (Opportunity, Kind::Meeting, Some(Held), None),
        (New, Kind::Meeting, Some(NoShow), None),
        (New, Kind::Note, None, None),
        (Lost, Kind::Inbound, Some(FormSubmitted), Some(New)),
        (New, Kind::Inbound, Some(FormSubmitted), None),
        (Contacted, Kind::Inbound, Some(FormSubmitted), None),
        (Customer, Kind::Inbound, Some(FormSubmitted), None),
        // Closed leads are not pulled back into the funnel by a call or a meeting.
        (Lost, Kind::Call, Some(Connected), None),
        (Customer, Kind::Call, Some(Connected), None),
        (Customer, Kind::Meeting, Some(Held), None),
        (Loyal, Kind::Meeting, Some(Scheduled), None),
    ];
    for &(stage, kind, outcome, after) in cases {
        assert_eq!(
            auto_transition(stage, kind, outcome),
            after,
            "{stage} + {kind} {outcome:?}"
        );
    }
}

#[test]
fn won_makes_a_customer_and_won_again_a_loyal_one() {
    use Stage::*;
    let cases = [
        (New, Customer),
        (Contacted, Customer),
        (Qualified, Customer),
        (Opportunity, Customer),
        (Nurture, Customer),
        (Lost, Customer),
        (Customer, Loyal),
        (Loyal, Loyal),
    ];
    for (before, after) in cases {
        assert_eq!(stage_after_won(before), after, "won from {before}");
    }
}

// ---------------------------------------------------------------- dedupe

#[test]
fn emails_are_trimmed_and_lower_cased() {
    let cases = [
        ("ann@example.com", "ann@example.com"),
        ("  Ann@Example.COM ", "ann@example.com"),
        (
            "\tANN.SMITH+leads@Example.co.uk\n",
            "ann.smith+leads@example.co.uk",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(normalize_email(input), expected, "{input:?}");
    }
}

#[test]
fn phones_become_digits_with_the_country_code() {
    let cases: &[(&str, &str, Result<&str, PhoneError>)] = &[
        ("+44 20 7946 0958", "44", Ok("442079460958")),
        ("0044 20 7946 0958", "44", Ok("442079460958")),
        ("020 7946 0958", "44", Ok("442079460958")),
        ("+44 20 7946 0958", "1", Ok("442079460958")),
        ("0044 20 7946 0958", "1", Ok("442079460958")),
        ("+44 (20) 7946-0958", "44", Ok("442079460958")),
        ("+44.20.7946.0958", "44", Ok("442079460958")),
        ("  020/7946/0958  ", "44", Ok("442079460958")),
        ("(555) 010-4477", "1", Ok("15550104477")),
        ("+7 912 345 6789", "44", Ok("79123456789")),
        ("1 (200) 000-0007", "1", Ok("12000000007")),
        ("1-200-000-0007", "1", Ok("12000000007")),
        ("200 000 0007", "1", Ok("12000000007")),
        ("+44 (0)20 7946 0958", "1", Ok("442079460958")),
        ("0044 (0)20 7946 0958", "44", Ok("442079460958")),
        ("44 20 7946 0958", "44", Ok("442079460958")),
        ("20 7946 0958", "44", Ok("442079460958")),
        ("+44 20 7946 O958", "44", Err(PhoneError::BadCharacters)),
        ("call me", "44", Err(PhoneError::BadCharacters)),
        (
            "+44 20 7946 0958 ext 12",
            "44",
            Err(PhoneError::BadCharacters),
        ),
        ("12345", "44", Err(PhoneError::BadLength(7))),
        ("+1234567", "44", Err(PhoneError::BadLength(7))),
        ("+1234 5678 9012 3456", "44", Err(PhoneError::BadLength(16))),
        ("", "44", Err(PhoneError::BadLength(2))),
    ];
    for (input, cc, expected) in cases {
        assert_eq!(
            normalize_phone(input, cc).as_deref().map_err(Clone::clone),
            expected.clone(),
            "{input:?} with country code {cc}"
        );
    }
}

// ---------------------------------------------------------------- validation and merging

#[test]
fn new_lead_validation() {
    let req = |name: &str, email: Option<&str>, phone: Option<&str>| NewLead {
        name: name.into(),
        email: email.map(String::from),
        phone: phone.map(String::from),
        ..NewLead::default()
    };
    let keys = |email: Option<&str>, phone: Option<&str>| DedupeKeys {
        email: email.map(String::from),
        phone: phone.map(String::from),
    };
    type Case = (
        &'static str,
        NewLead,
        bool,
        Result<DedupeKeys, ValidationError>,
    );
    let cases: Vec<Case> = vec![
        (
            "e-mail only",
            req("Ann", Some("Ann@Example.com"), None),
            false,
            Ok(keys(Some("ann@example.com"), None)),
        ),
        (
            "phone only",
            req("Ann", None, Some("020 7946 0958")),
            false,
            Ok(keys(None, Some("442079460958"))),
        ),
        (
            "both",
            req("Ann", Some(" ann@example.com "), Some("+44 20 7946 0958")),
            false,
            Ok(keys(Some("ann@example.com"), Some("442079460958"))),
        ),
        (
            "no name",
            req("", Some("ann@example.com"), None),
            false,
            Err(ValidationError::MissingName),
        ),
        (
            "a blank name, once cleaned",
            req("   ", Some("ann@example.com"), None).cleaned(),
            false,
            Err(ValidationError::MissingName),
        ),
        (
            "no contact",
            req("Ann", None, None),
            false,
            Err(ValidationError::MissingContact),
        ),
        (
            "blank contact, once cleaned",
            req("Ann", Some("  "), Some("")).cleaned(),
            false,
            Err(ValidationError::MissingContact),
        ),
        (
            "e-mail without a domain",
            req("Ann", Some("ann@"), None),
            false,
            Err(ValidationError::InvalidEmail("ann@".into())),
        ),
        (
            "e-mail without an at",
            req("Ann", Some("ann.example.com"), None),
            false,
            Err(ValidationError::InvalidEmail("ann.example.com".into())),
        ),
        (
            // Taken as is, the display name would become part of the dedupe key.
            "e-mail with a display name",
            req("Ann", Some("Ann Smith <ann@example.com>"), None),
            false,
            Err(ValidationError::InvalidEmail(
                "Ann Smith <ann@example.com>".into(),
            )),
        ),
        (
            "e-mail with a dot missing from the domain",
            req("Ann", Some("ann.lee@gmailcom"), None),
            false,
            Err(ValidationError::InvalidEmail("ann.lee@gmailcom".into())),
        ),
        (
            "e-mail to a bare host",
            req("Ann", Some("ann@localhost"), None),
            false,
            Err(ValidationError::InvalidEmail("ann@localhost".into())),
        ),
        (
            "phone with letters",
            req("Ann", None, Some("call me")),
            false,
            Err(ValidationError::InvalidPhone(
                "call me".into(),
                PhoneError::BadCharacters,
            )),
        ),
        (
            "phone too short",
            req("Ann", None, Some("12345")),
            false,
            Err(ValidationError::InvalidPhone(
                "12345".into(),
                PhoneError::BadLength(7),
            )),
        ),
        (
            "anonymous: no name, no contact",
            req("", None, None),
            true,
            Ok(keys(None, None)),
        ),
        (
            "anonymous still checks the e-mail",
            req("", Some("not an address"), None),
            true,
            Err(ValidationError::InvalidEmail("not an address".into())),
        ),
        (
            "anonymous still checks the phone",
            req("", None, Some("12")),
            true,
            Err(ValidationError::InvalidPhone(
                "12".into(),
                PhoneError::BadLength(4),
            )),
        ),
    ];
    for (what, request, anonymous, expected) in cases {
        assert_eq!(request.validate("44", anonymous), expected, "{what}");
    }
}

#[test]
fn validation_errors_name_the_input() {
    let req = NewLead {
        name: "Ann".into(),
        email: Some("ann@@example".into()),
        ..NewLead::default()
    };
    let message = req.validate("44", false).unwrap_err().to_string();
    assert!(message.contains("\"ann@@example\""), "{message}");
    let req = NewLead {
        name: "Ann".into(),
        phone: Some("0800 FLOWERS".into()),
        ..NewLead::default()
    };
    let message = req.validate("44", false).unwrap_err().to_string();
    assert!(message.contains("\"0800 FLOWERS\""), "{message}");
}

#[test]
fn fill_from_fills_empty_fields_and_never_overwrites() {
    let mut lead = lead_from(NewLead {
        name: "Ann Example".into(),
        email: Some("ann@example.com".into()),
        company: Some("Acme".into()),
        tags: vec!["vip".into()],
        attributes: attrs(&[("title", "CEO")]),
        ..NewLead::default()
    });
    let original = lead.clone();
    let repeat = NewLead {
        name: "A. Example".into(),
        email: Some("ann.other@example.com".into()),
        phone: Some("+44 20 7946 0958".into()),
        company: Some("Other Ltd".into()),
        source: Some("web-form".into()),
        owner: None,
        tags: vec!["VIP".into(), "eu".into()],
        attributes: attrs(&[("title", "Intern"), ("city", "Riga")]),
        closed: None,
    };
    let filled = lead.fill_from(&repeat);
    assert_eq!(filled, ["phone", "source", "tag eu", "city"]);
    assert_eq!(lead.name, original.name);
    assert_eq!(lead.email, original.email);
    assert_eq!(lead.company, original.company);
    assert_eq!(lead.owner, None);
    assert_eq!(lead.phone.as_deref(), Some("+44 20 7946 0958"));
    assert_eq!(lead.source.as_deref(), Some("web-form"));
    assert_eq!(lead.tags, ["vip", "eu"]);
    assert_eq!(
        lead.attributes,
        attrs(&[("title", "CEO"), ("city", "Riga")])
    );
    // The same request again fills nothing.
    let again = lead.clone();
    assert!(lead.fill_from(&repeat).is_empty());
    assert_eq!(lead, again);
    // An anonymous lead (no name) gets the name of a later request.
    let mut anonymous = lead_from(NewLead::default());
    let filled = anonymous.fill_from(&plain_request());
    assert_eq!(filled, ["email", "name"]);
    assert_eq!(anonymous.name, "Ann Example");
}

// ---------------------------------------------------------------- dates

/// 09:00 local time on `date`, computed independently of the code under test.
fn nine_local(date: NaiveDate) -> Millis {
    let naive = date.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    Local
        .from_local_datetime(&naive)
        .earliest()
        .expect("09:00 exists on every day")
        .timestamp_millis()
}

fn local_day(ms: Millis) -> NaiveDate {
    Local.timestamp_millis_opt(ms).unwrap().date_naive()
}

#[test]
fn dates_a_rep_types() {
    let today = local_day(NOW);
    assert_eq!(local_date(NOW), today);
    let day = |n: u64| today + chrono::Days::new(n);
    let cases: Vec<(&str, Millis)> = vec![
        ("now", NOW),
        ("tomorrow", nine_local(day(1))),
        ("Tomorrow ", nine_local(day(1))),
        ("3d", nine_local(day(3))),
        ("+3d", nine_local(day(3))),
        ("2w", nine_local(day(14))),
        ("3h", NOW + 3 * HOUR_MS),
        (
            "2026-12-01",
            nine_local(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
        ),
        (
            "2026-12-01 14:30",
            Local
                .with_ymd_and_hms(2026, 12, 1, 14, 30, 0)
                .earliest()
                .unwrap()
                .timestamp_millis(),
        ),
        ("2026-11-25T10:30:00Z", 1_795_602_600_000),
        ("2026-11-25T10:30:00+02:00", 1_795_595_400_000),
        ("2026-11-25T10:30:00.250Z", 1_795_602_600_250),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_when(input, NOW), Ok(expected), "{input:?}");
    }
}

#[test]
fn today_is_nine_in_the_morning_or_now_if_later() {
    let today = local_day(NOW);
    let nine = nine_local(today);
    assert_eq!(parse_when("today", nine - 2 * HOUR_MS), Ok(nine));
    assert_eq!(parse_when("today", nine), Ok(nine));
    assert_eq!(
        parse_when("today", nine + 5 * HOUR_MS),
        Ok(nine + 5 * HOUR_MS)
    );
}

#[test]
fn next_week_is_the_coming_monday_at_nine() {
    // Every day of one week, so Monday itself (a week ahead, not today) is covered.
    for d in 0..7 {
        let now = NOW + d * DAY_MS;
        let got = parse_when("next-week", now).unwrap();
        let date = local_day(got);
        assert_eq!(date.weekday(), Weekday::Mon, "from {}", local_day(now));
        let ahead = (date - local_day(now)).num_days();
        assert!((1..=7).contains(&ahead), "{ahead} days ahead");
        assert_eq!(got, nine_local(date));
        assert_eq!(parse_when("next week", now), Ok(got));
    }
}

#[test]
fn day_level_dates_land_at_nine_local_every_day_of_the_year() {
    // Run with a TZ that changes clocks (e.g. TZ=Europe/London) to cover daylight saving.
    for d in 0..366 {
        let now = NOW + d * DAY_MS;
        for input in ["tomorrow", "1d", "2w"] {
            let got = Local
                .timestamp_millis_opt(parse_when(input, now).unwrap())
                .unwrap();
            assert_eq!(
                (got.hour(), got.minute()),
                (9, 0),
                "{input:?} from {}",
                local_day(now)
            );
        }
        let date = local_day(now);
        let typed = date.format("%Y-%m-%d").to_string();
        let got = Local
            .timestamp_millis_opt(parse_when(&typed, NOW).unwrap())
            .unwrap();
        assert_eq!((got.date_naive(), got.hour(), got.minute()), (date, 9, 0));
    }
}

#[test]
fn unreadable_dates_name_the_input() {
    for input in [
        "soon-ish",
        "",
        "32d-ish",
        "2026-13-45",
        "-3d",
        "next month",
        "d",
    ] {
        let err = parse_when(input, NOW).unwrap_err();
        assert_eq!(err.input, input);
        let message = err.to_string();
        assert!(message.contains(&format!("{input:?}")), "{message}");
        assert!(message.contains("YYYY-MM-DD"), "says what works: {message}");
    }
}

// ---------------------------------------------------------------- sanitising

#[test]
fn display_text_cannot_drive_the_terminal() {
    let r = '\u{FFFD}';
    let cases: Vec<(&str, String)> = vec![
        ("Ann\x1b[2J", format!("Ann{r}[2J")),
        ("\x1b[31mred\x1b[0m", format!("{r}[31mred{r}[0m")),
        ("\x1b]0;pwned\x07title", format!("{r}]0;pwned{r}title")),
        ("bell\x07", format!("bell{r}")),
        ("\u{9b}31mC1 CSI", format!("{r}31mC1 CSI")),
        ("nul\0del\x7f", format!("nul{r}del{r}")),
        ("evil\u{202E}gnp.exe", format!("evil{r}gnp.exe")),
        ("\u{2066}isolate\u{2069}", format!("{r}isolate{r}")),
        ("mark\u{200F}", format!("mark{r}")),
        // Invisible: two names that look alike differ where a mark shows.
        ("An\u{200B}na", format!("An{r}na")),
        ("\u{FEFF}Bom", format!("{r}Bom")),
        ("word\u{2060}joiner", format!("word{r}joiner")),
        ("tag\u{E0041}\u{E0042}", format!("tag{r}{r}")),
        // Joiners that scripts and emoji need stay.
        (
            "मि\u{200D}त्र 👩\u{200D}💻",
            "मि\u{200D}त्र 👩\u{200D}💻".into(),
        ),
        ("two\nlines\r\tand a tab", "two lines  and a tab".into()),
        ("Анна Иванова", "Анна Иванова".into()),
        ("José Müller, Zoë Ørsted", "José Müller, Zoë Ørsted".into()),
        ("北京 Ltd", "北京 Ltd".into()),
        ("", String::new()),
    ];
    for (input, expected) in cases {
        let shown = for_display(input);
        assert_eq!(shown, expected, "{input:?}");
        assert!(
            !shown.chars().any(|c| c.is_control()),
            "{input:?} still has a control character"
        );
    }
}

#[test]
fn csv_cells_cannot_carry_formulas() {
    let cases = [
        ("=1+1", "'=1+1"),
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+44 20 7946 0958", "'+44 20 7946 0958"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        ("Анна", "Анна"),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(for_csv_cell(input), expected, "{input:?}");
    }
}

// ---------------------------------------------------------------- bad rules files

const BASE_RULES: &str = "\
[temperature]
warm = 35
hot = 65
hysteresis = 5

[fit]
min = -20
max = 40

[engagement]
half_life_days = 14
min = -30
max = 70
";

#[test]
fn the_base_rules_fixture_is_valid() {
    let rules = Rules::parse(BASE_RULES, "base.toml").unwrap();
    assert!(rules.fit.rule.is_empty() && rules.engagement.rule.is_empty());
    assert_eq!(BASE_RULES.lines().count(), 13);
}

#[test]
fn bad_rules_files_name_the_origin_and_line() {
    // (what, text, line of the problem, words the message must have)
    let cases: Vec<(&str, String, usize, &[&str])> = vec![
        (
            "syntax error",
            BASE_RULES.replace("hot = 65", "hot = = 65"),
            3,
            &[],
        ),
        (
            "unknown key",
            format!(
                "{BASE_RULES}
[[engagement.rule]]
name = \"call\"
kind = \"call\"
pionts = 5
"
            ),
            18,
            &["pionts"],
        ),
        (
            "unknown outcome",
            format!(
                "{BASE_RULES}
[[engagement.rule]]
name = \"answered call\"
kind = \"call\"
outcome = \"answered\"
points = 15
"
            ),
            18,
            &["answered"],
        ),
        (
            "unknown kind",
            format!(
                "{BASE_RULES}
[[engagement.rule]]
name = \"fax\"
kind = \"fax\"
points = 1
"
            ),
            17,
            &["fax"],
        ),
        (
            "outcome of another kind",
            format!(
                "{BASE_RULES}
[[engagement.rule]]
name = \"call replied\"
kind = \"call\"
outcome = \"replied\"
points = 12
"
            ),
            18,
            &["call replied", "replied", "call outcome"],
        ),
        (
            "outcome of another kind, the name mentioned earlier",
            format!(
                "{BASE_RULES}
# \"demo booked\" is worth as much as a meeting
[[engagement.rule]]
name = \"connected call\"
kind = \"call\"
outcome = \"connected\"
points = 15

[[engagement.rule]]
name = \"demo booked\"
kind = \"call\"
outcome = \"scheduled\"
points = 20
"
            ),
            25,
            &["demo booked", "scheduled"],
        ),
        (
            "fit rule with no condition",
            format!(
                "{BASE_RULES}
[[fit.rule]]
name = \"has a title\"
field = \"title\"
points = 5
"
            ),
            16,
            &["has a title", "no condition"],
        ),
        (
            "fit rule with no condition, named like a value above it",
            format!(
                "{BASE_RULES}
[[fit.rule]]
name = \"inbound\"
field = \"source\"
equals = [\"webinar\", \"referral\"]
points = 10

[[fit.rule]]
name = \"referral\"
field = \"source\"
points = 5
"
            ),
            22,
            &["\"referral\"", "no condition"],
        ),
        (
            "warm above hot",
            BASE_RULES.replace("warm = 35", "warm = 70"),
            1,
            &["warm < hot"],
        ),
        (
            "no half-life",
            BASE_RULES.replace("half_life_days = 14", "half_life_days = 0"),
            11,
            &["half_life_days"],
        ),
        (
            "a score threshold above 255",
            BASE_RULES.replace("hot = 65", "hot = 300"),
            3,
            &[],
        ),
        // These made every command panic (issue 8): min above max reached f64::clamp.
        (
            "fit max below min",
            BASE_RULES.replace("max = 40", "max = -40"),
            6,
            &["[fit]", "min <= max"],
        ),
        (
            "engagement max below min",
            BASE_RULES.replace("max = 70", "max = -70"),
            10,
            &["[engagement]", "min <= max"],
        ),
        (
            "engagement min not a number",
            BASE_RULES.replace("min = -30", "min = nan"),
            10,
            &["[engagement]"],
        ),
        (
            "infinite points",
            format!(
                "{BASE_RULES}
[[engagement.rule]]
name = \"big call\"
kind = \"call\"
points = inf
"
            ),
            16,
            &["big call", "points"],
        ),
        (
            "fit rule with min above max",
            format!(
                "{BASE_RULES}
[[fit.rule]]
name = \"mid size\"
field = \"company_size\"
min = 500
max = 50
points = 5
"
            ),
            16,
            &["mid size", "min must not be above max"],
        ),
    ];
    for (what, text, line, words) in cases {
        let err = Rules::parse(&text, "/home/ann/.config/leadq/scoring.toml").expect_err(what);
        let message = err.to_string();
        let prefix = format!("/home/ann/.config/leadq/scoring.toml: line {line}: ");
        assert!(
            message.starts_with(&prefix),
            "{what}: expected {prefix:?}..., got {message:?}\n{text}"
        );
        for w in words {
            assert!(
                message.contains(w),
                "{what}: {w:?} missing from {message:?}"
            );
        }
        match err {
            RulesError::Syntax { origin, .. } | RulesError::Invalid { origin, .. } => {
                assert_eq!(origin, "/home/ann/.config/leadq/scoring.toml");
            }
        }
    }
}
