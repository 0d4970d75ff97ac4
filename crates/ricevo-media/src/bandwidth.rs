//! How a receiver's bandwidth estimate decides whether it gets video.
//!
//! The estimate comes from what the receiver's own RTCP receiver reports say about the media
//! sent to it ([`DownlinkEstimate`]). Below `video_off` bits per second the receiver gets audio
//! only; video comes back once the estimate climbs over `video_on`. The gap between the two
//! keeps a wavering estimate from switching video on and off every second.

use std::time::{Duration, Instant};

/// Thresholds for switching a receiver's video off and on again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VideoGate {
    /// Estimates below this (bit/s) stop video to the receiver.
    pub(crate) video_off: u64,
    /// Estimates above this (bit/s) resume it.
    pub(crate) video_on: u64,
}

impl Default for VideoGate {
    fn default() -> Self {
        VideoGate { video_off: 120_000, video_on: 250_000 }
    }
}

impl VideoGate {
    /// Whether video should flow, given whether it flows now and the latest estimate.
    pub(crate) fn video_allowed(self, flowing: bool, estimate_bps: u64) -> bool {
        if flowing { estimate_bps >= self.video_off } else { estimate_bps > self.video_on }
    }
}

/// Loss above this fraction means the downlink is overloaded.
const HIGH_LOSS: f32 = 0.10;
/// Loss below this fraction means there is room to grow.
const LOW_LOSS: f32 = 0.02;
/// A round trip this long means packets wait in a queue that has not overflowed yet (a
/// "bufferbloated" mobile link): treated as overload before the loss shows.
const CONGESTED_RTT: Duration = Duration::from_millis(750);
/// How much a congested round trip takes off the estimate.
const RTT_BACKOFF: f64 = 0.85;
/// Growth per second while the receiver reports (almost) no loss.
const GROWTH_PER_SECOND: f64 = 1.05;
/// Longer gaps between reports do not count for more growth than this.
const MAX_GROWTH_STEP: Duration = Duration::from_secs(5);
/// The estimate stays within these bounds (bit/s): above the ceiling nothing changes for the
/// gate, and a low ceiling lets a collapse show within a few reports.
const FLOOR_BPS: f64 = 20_000.0;
const CEILING_BPS: f64 = 4_000_000.0;

/// A receiver's downlink estimate from its receiver reports: the loss-based controller of
/// Google Congestion Control (draft-ietf-rmcat-gcc-02, section 6) — more than 10% loss cuts
/// the estimate by half the loss, less than 2% lets it grow 5% per second — with a long round
/// trip counted as overload too.
///
/// Why not str0m's transport-wide (TWCC) estimator: it comes with str0m's pacer, which lets
/// one packet go per timer run of the receiver's session, so every forwarded packet cost a
/// full pass over the session's timers; that was the largest single item of the media
/// thread's time (see BENCHMARKS.md). The receiver reports arrive anyway, about once a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DownlinkEstimate {
    bps: f64,
    /// When a report last let the estimate grow (growth is per second, not per report).
    last_growth: Option<Instant>,
}

impl DownlinkEstimate {
    pub(crate) fn new(initial_bps: u64) -> DownlinkEstimate {
        DownlinkEstimate { bps: (initial_bps as f64).clamp(FLOOR_BPS, CEILING_BPS), last_growth: None }
    }

    /// The estimate in bit/s.
    pub(crate) fn bps(&self) -> u64 {
        self.bps as u64
    }

    /// Takes one report: `loss` is the fraction of packets lost (0 to 1) the receiver reported
    /// for one of its streams since the last one, `rtt` the round trip measured with it.
    pub(crate) fn update(&mut self, now: Instant, loss: f32, rtt: Option<Duration>) {
        let loss = if loss.is_finite() { f64::from(loss.clamp(0.0, 1.0)) } else { 0.0 };
        if loss > f64::from(HIGH_LOSS) {
            self.bps *= 1.0 - 0.5 * loss;
            self.last_growth = None;
        } else if rtt.is_some_and(|rtt| rtt >= CONGESTED_RTT) {
            self.bps *= RTT_BACKOFF;
            self.last_growth = None;
        } else if loss < f64::from(LOW_LOSS) {
            if let Some(last) = self.last_growth {
                let elapsed = now.saturating_duration_since(last).min(MAX_GROWTH_STEP);
                self.bps *= GROWTH_PER_SECOND.powf(elapsed.as_secs_f64());
            }
            self.last_growth = Some(now);
        }
        self.bps = self.bps.clamp(FLOOR_BPS, CEILING_BPS);
    }
}

/// The share of a receiver's estimate that simulcast video may take (the rest: audio, RTCP,
/// retransmissions).
const VIDEO_SHARE_PERCENT: u64 = 90;

/// One source a receiver is to get, for [`allocate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Demand {
    /// The layer the view asks for (0 the lowest).
    pub(crate) wanted: usize,
    /// Each layer's bit rate, lowest layer first (0: not measured yet).
    pub(crate) rates: Vec<u64>,
    /// Which layers flow now.
    pub(crate) active: Vec<bool>,
}

impl Demand {
    /// The wanted layer if it flows, else the nearest lower one that does, else the nearest
    /// higher one; the wanted one when none flows yet.
    fn available(&self) -> usize {
        let top = self.rates.len().saturating_sub(1);
        let wanted = self.wanted.min(top);
        let active = |i: &usize| self.active.get(*i).copied().unwrap_or(false);
        (0..=wanted).rev().find(active).or_else(|| (wanted..=top).find(active)).unwrap_or(wanted)
    }

    fn lower(&self, layer: usize) -> Option<usize> {
        (0..layer).rev().find(|i| self.active.get(*i).copied().unwrap_or(false))
    }

    fn rate(&self, layer: Option<usize>) -> u64 {
        layer.and_then(|l| self.rates.get(l)).copied().unwrap_or(0)
    }
}

/// Chooses a layer for each of a receiver's simulcast sources within its downlink estimate:
/// each gets the layer its view asks for, then, while the sum is over the estimate, the
/// dearest source steps down a layer; when none can step down any more, sources are left out
/// from the end of the list (the caller lists the large ones first, so the last small tiles go
/// first). A weak link thus gets lower layers before it loses video.
pub(crate) fn allocate(estimate_bps: u64, demands: &[Demand]) -> Vec<Option<usize>> {
    let budget = estimate_bps.saturating_mul(VIDEO_SHARE_PERCENT) / 100;
    let mut chosen: Vec<Option<usize>> = demands.iter().map(|d| Some(d.available())).collect();
    loop {
        let total: u64 = demands.iter().zip(&chosen).map(|(d, c)| d.rate(*c)).sum();
        if total <= budget {
            return chosen;
        }
        let dearest = demands
            .iter()
            .zip(&chosen)
            .enumerate()
            .filter_map(|(i, (d, c))| Some((i, d.lower((*c)?)?, d.rate(*c))))
            // Of equally dear ones, the first listed.
            .rev()
            .max_by_key(|(_, _, rate)| *rate);
        if let Some((i, lower, _)) = dearest
            && let Some(slot) = chosen.get_mut(i)
        {
            *slot = Some(lower);
            continue;
        }
        match chosen.iter_mut().rev().find(|c| c.is_some()) {
            Some(last) => *last = None,
            None => return chosen,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Demand, DownlinkEstimate, VideoGate, allocate};

    fn demand(wanted: usize) -> Demand {
        Demand { wanted, rates: vec![100_000, 300_000, 1_000_000], active: vec![true; 3] }
    }

    #[test]
    fn a_weak_downlink_steps_the_large_video_down_before_dropping_small_tiles() {
        // Two large (top layer) and four small tiles (lowest layer).
        let demands = [demand(2), demand(2), demand(0), demand(0), demand(0), demand(0)];
        let layers = |estimate| allocate(estimate, &demands);
        let all = [Some(2), Some(2), Some(0), Some(0), Some(0), Some(0)];
        assert_eq!(layers(4_000_000), all);
        // 2.4 Mbit/s wanted; with 2 Mbit/s one large video steps down to the middle layer.
        assert_eq!(layers(2_000_000), [Some(1), Some(2), Some(0), Some(0), Some(0), Some(0)]);
        assert_eq!(layers(1_200_000), [Some(1), Some(1), Some(0), Some(0), Some(0), Some(0)]);
        // Both large ones at the lowest layer, then the last small tiles are left out.
        assert_eq!(layers(700_000), [Some(0), Some(0), Some(0), Some(0), Some(0), Some(0)]);
        assert_eq!(layers(400_000), [Some(0), Some(0), Some(0), None, None, None]);
        assert_eq!(layers(50_000), [None; 6]);
    }

    #[test]
    fn layers_that_do_not_flow_are_not_chosen_and_unmeasured_ones_cost_nothing() {
        let mut top_off = demand(2);
        top_off.active[2] = false;
        assert_eq!(allocate(4_000_000, &[top_off]), [Some(1)]);
        let mut only_top = demand(0);
        only_top.active = vec![false, false, true];
        assert_eq!(allocate(4_000_000, &[only_top]), [Some(2)]);
        let fresh = Demand { wanted: 2, rates: vec![0, 0, 0], active: vec![false; 3] };
        assert_eq!(allocate(100_000, &[fresh]), [Some(2)]);
    }

    #[test]
    fn heavy_loss_cuts_the_estimate_below_the_video_mark_within_a_few_reports() {
        let gate = VideoGate::default();
        let start = Instant::now();
        let mut estimate = DownlinkEstimate::new(4_000_000);
        let mut reports = 0;
        while gate.video_allowed(true, estimate.bps()) {
            reports += 1;
            // An 80 kbit/s link under 1.5 Mbit/s of video loses about 95%.
            estimate.update(start + Duration::from_secs(reports), 0.95, Some(Duration::from_millis(400)));
            assert!(reports < 10, "still {} bit/s after {reports} reports", estimate.bps());
        }
        assert!(estimate.bps() < 120_000);
    }

    #[test]
    fn a_clean_link_grows_back_over_the_video_mark_in_time_not_in_reports() {
        let start = Instant::now();
        let mut estimate = DownlinkEstimate::new(100_000);
        // Reports every 5 s (audio only) or every second: the same growth after 20 s.
        let mut sparse = estimate;
        for s in 0..=20 {
            estimate.update(start + Duration::from_secs(s), 0.0, Some(Duration::from_millis(40)));
            if s % 5 == 0 {
                sparse.update(start + Duration::from_secs(s), 0.0, None);
            }
        }
        let expected = 100_000.0 * 1.05f64.powi(20);
        assert!((estimate.bps() as f64 - expected).abs() < 2.0, "{}", estimate.bps());
        assert!((sparse.bps() as f64 - expected).abs() < 2.0, "{}", sparse.bps());
        assert!(VideoGate::default().video_allowed(false, estimate.bps()));
    }

    #[test]
    fn moderate_loss_holds_and_a_long_round_trip_backs_off() {
        let start = Instant::now();
        let mut estimate = DownlinkEstimate::new(1_000_000);
        estimate.update(start, 0.05, None);
        estimate.update(start + Duration::from_secs(1), 0.05, None);
        assert_eq!(estimate.bps(), 1_000_000);
        estimate.update(start + Duration::from_secs(2), 0.0, Some(Duration::from_secs(1)));
        assert_eq!(estimate.bps(), 850_000);
        // Nonsense from the wire changes nothing and stays within bounds.
        estimate.update(start + Duration::from_secs(3), f32::NAN, None);
        estimate.update(start + Duration::from_secs(4), 7.0, None);
        assert!(estimate.bps() >= 20_000);
        for s in 5..1000 {
            estimate.update(start + Duration::from_secs(s), 0.0, None);
        }
        assert_eq!(estimate.bps(), 4_000_000);
    }

    #[test]
    fn video_stops_below_the_low_mark_and_resumes_only_above_the_high_mark() {
        let gate = VideoGate::default();
        assert!(gate.video_allowed(true, 500_000));
        assert!(gate.video_allowed(true, 130_000));
        assert!(!gate.video_allowed(true, 100_000));
        // In between the marks the current state holds.
        assert!(!gate.video_allowed(false, 200_000));
        assert!(gate.video_allowed(true, 200_000));
        assert!(gate.video_allowed(false, 300_000));
    }
}
