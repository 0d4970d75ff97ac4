//! How a receiver's bandwidth estimate decides whether it gets video.
//!
//! Below `video_off` bits per second the receiver gets audio only; video comes back once the
//! estimate climbs over `video_on`. The gap between the two keeps a wavering estimate from
//! switching video on and off every second.

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

#[cfg(test)]
mod tests {
    use super::VideoGate;

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
