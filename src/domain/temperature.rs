//! Cold / warm / hot from the score, with hysteresis so a lead does not flicker when its score
//! hovers at a threshold.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Temperature {
    Cold,
    Warm,
    Hot,
}

impl Temperature {
    pub fn name(self) -> &'static str {
        match self {
            Temperature::Cold => "cold",
            Temperature::Warm => "warm",
            Temperature::Hot => "hot",
        }
    }

    pub fn parse(s: &str) -> Option<Temperature> {
        [Temperature::Cold, Temperature::Warm, Temperature::Hot]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Temperature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub warm: u8,
    pub hot: u8,
    /// A lead keeps its temperature until its score falls this many points below the
    /// threshold that earned it.
    pub hysteresis: u8,
}

impl Thresholds {
    /// The temperature for `score`, given the temperature the lead had before.
    pub fn classify(&self, score: u8, previous: Temperature) -> Temperature {
        let keep = |t: u8| t.saturating_sub(self.hysteresis);
        if score >= self.hot || (previous == Temperature::Hot && score >= keep(self.hot)) {
            Temperature::Hot
        } else if score >= self.warm || (previous >= Temperature::Warm && score >= keep(self.warm))
        {
            Temperature::Warm
        } else {
            Temperature::Cold
        }
    }

    /// The lowest score at which any lead can be hot: below it the queue can stop looking.
    pub fn lowest_hot(&self) -> u8 {
        self.hot.saturating_sub(self.hysteresis)
    }

    pub fn lowest_warm(&self) -> u8 {
        self.warm.saturating_sub(self.hysteresis)
    }
}
