//! Counters for `/metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the request latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    latency_sum_micros: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
}

impl Metrics {
    /// One request served in `secs`.
    pub fn request(&self, secs: f64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    /// The text exposition, with the desk's booking counters and the outbox backlog read by the caller.
    pub fn render(&self, desk: &ricevo_desk::Counters, outbox_backlog: i64) -> String {
        let mut s = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(s, "# HELP ricevo_bookings_total Bookings committed.\n# TYPE ricevo_bookings_total counter");
        let _ = writeln!(s, "ricevo_bookings_total {}", desk.bookings());
        let _ = writeln!(
            s,
            "# HELP ricevo_booking_conflicts_total Bookings refused because the slot was taken.\n# TYPE ricevo_booking_conflicts_total counter"
        );
        let _ = writeln!(s, "ricevo_booking_conflicts_total {}", desk.conflicts());
        let _ =
            writeln!(s, "# HELP ricevo_outbox_backlog Messages not yet delivered.\n# TYPE ricevo_outbox_backlog gauge");
        let _ = writeln!(s, "ricevo_outbox_backlog {outbox_backlog}");
        let _ = writeln!(
            s,
            "# HELP ricevo_http_request_duration_seconds Request latency.\n# TYPE ricevo_http_request_duration_seconds histogram"
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "ricevo_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                get(&self.latency_buckets[i])
            );
        }
        let total = get(&self.requests);
        let _ = writeln!(s, "ricevo_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}");
        let _ = writeln!(s, "ricevo_http_request_duration_seconds_sum {}", get(&self.latency_sum_micros) as f64 / 1e6);
        let _ = writeln!(s, "ricevo_http_request_duration_seconds_count {total}");
        s
    }

    /// The embedded SFU's gauges and counters, in the same format.
    pub fn render_media(stats: &ricevo_media::MediaStats) -> String {
        let rows: [(&str, &str, &str, u64); 6] = [
            ("ricevo_media_rooms", "gauge", "Meetings with at least one participant connected.", stats.rooms),
            ("ricevo_media_participants", "gauge", "Participants connected to the SFU.", stats.participants),
            (
                "ricevo_media_packets_forwarded_total",
                "counter",
                "RTP packets sent to participants.",
                stats.packets_forwarded,
            ),
            (
                "ricevo_media_bytes_forwarded_total",
                "counter",
                "Bytes of RTP packets sent to participants.",
                stats.bytes_forwarded,
            ),
            (
                "ricevo_media_datagrams_received_total",
                "counter",
                "Datagrams received on the media port.",
                stats.datagrams_received,
            ),
            (
                "ricevo_media_datagrams_sent_total",
                "counter",
                "Datagrams sent from the media port.",
                stats.datagrams_sent,
            ),
        ];
        let mut s = String::new();
        for (name, kind, help, value) in rows {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_bookings_conflicts_and_latency_buckets() {
        let m = Metrics::default();
        let desk = ricevo_desk::Counters::default();
        desk.booking_committed();
        desk.booking_committed();
        desk.booking_conflict();
        m.request(0.003);
        m.request(0.2);
        let text = m.render(&desk, 7);
        assert!(text.contains("ricevo_bookings_total 2\n"), "{text}");
        assert!(text.contains("ricevo_booking_conflicts_total 1\n"));
        assert!(text.contains("ricevo_outbox_backlog 7\n"));
        assert!(text.contains("ricevo_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("ricevo_http_request_duration_seconds_bucket{le=\"0.25\"} 2\n"));
        assert!(text.contains("ricevo_http_request_duration_seconds_count 2\n"));
    }
}
