//! The learned score: features of a lead as it was before its outcome, a regularised logistic
//! regression trained on the team's won and lost leads, the figures that prove it on a
//! holdout, and the explanation of each prediction. Pure: the service feeds it leads and
//! timelines and keeps what it returns.

pub mod metrics;
