//! Several nodes on one database: this node's heartbeat, and the node a meeting's media live
//! on now. A meeting lives on the node that opened it; when that node dies, the first surviving
//! node a participant reconnects to takes the meeting over (`Store::move_meeting`, a
//! compare-and-set on the old node), and every other participant is sent there.

use std::time::Duration;

use ricevo_core::nodes::{self, Home};
use ricevo_store::{Meeting, StoreError};

use crate::state::AppState;

/// How long another node gets to accept a connection before it counts as unreachable.
const PROBE_WITHIN: Duration = Duration::from_secs(2);

/// Records this node's heartbeat every quarter of the liveness bound, for as long as the
/// process runs (a failed write is retried at the next beat).
pub async fn keep_node_alive(state: AppState) {
    let every = nodes::heartbeat_every(state.config.node_dead_after).unsigned_abs();
    let mut beat = tokio::time::interval(every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        beat.tick().await;
        if let Err(e) = state.store.heartbeat(state.config.node(), state.now()).await {
            tracing::warn!(error = %e, "could not record this node's heartbeat");
        }
    }
}

/// Closes the meetings this node carries once everyone has left them for the grace period
/// (`ricevo_desk::deserted`), for as long as the process runs. Each node judges only its own
/// meetings, because only it knows who is connected to them; a meeting whose node is dead is
/// taken over first (as a participant reconnecting would), then judged here.
pub async fn close_deserted_meetings(state: AppState) {
    let grace = state.desk.settings().empty_meeting_grace;
    let mut look = tokio::time::interval(ricevo_core::deserted::look_every(grace).unsigned_abs());
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut vacancies = ricevo_desk::deserted::Vacancies::default();
    loop {
        look.tick().await;
        let meetings = match state.desk.open_meetings().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "could not list open meetings; will look again");
                continue;
            }
        };
        let mut here = std::collections::HashSet::new();
        for m in meetings {
            match carried_here(&state, &m).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, meeting = m.id.0, "could not tell where a meeting lives");
                    continue;
                }
            }
            here.insert(m.id);
            if let Err(e) = state.desk.close_if_deserted(&m, &mut vacancies).await {
                tracing::warn!(error = %e, meeting = m.id.0, "could not close a meeting everyone left");
            }
        }
        vacancies.retain(|m| here.contains(&m));
    }
}

/// Whether this node carries `meeting`'s media: its own, or one of a dead node, moved here.
/// A meeting of a live node is that node's to judge (no probe: it counts as alive until its
/// heartbeat stops).
async fn carried_here(state: &AppState, meeting: &Meeting) -> Result<bool, StoreError> {
    let here = state.config.node();
    let Some(node) = meeting.node.as_deref().filter(|n| *n != here) else { return Ok(true) };
    let seen = state.store.node_seen(node).await?;
    if nodes::is_alive(seen, state.now(), state.config.node_dead_after) {
        return Ok(false);
    }
    Ok(home_of(state, meeting).await?.is_none())
}

/// The node whose media server carries `meeting` when it is not this one (`None`: here).
///
/// A meeting on a dead node moves here first. A node is dead when its heartbeat is older than
/// the bound, or as soon as it refuses connections: right after a crash its last heartbeat is
/// still fresh, and sending people there would strand them on an error page.
pub(crate) async fn home_of(state: &AppState, meeting: &Meeting) -> Result<Option<String>, StoreError> {
    let here = state.config.node();
    let Some(node) = meeting.node.as_deref().filter(|n| *n != here) else { return Ok(None) };
    let now = state.now();
    let bound = state.config.node_dead_after;
    let seen = state.store.node_seen(node).await?;
    let dead_since = match nodes::home(Some(node), here, seen, now, bound) {
        Home::Here => return Ok(None),
        Home::There(there) => {
            if answers(&there).await {
                return Ok(Some(there));
            }
            // Any heartbeat it recorded before now is from before it stopped answering.
            now
        }
        Home::Orphaned(_) => nodes::alive_since(now, bound),
    };
    let Some(after) = state.store.move_meeting(meeting.tenant_id, meeting.id, node, here, dead_since).await? else {
        return Ok(None);
    };
    match after.node {
        Some(n) if n == here => {
            tracing::info!(meeting = meeting.id.0, from = node, "took over a meeting from a dead node");
            // Participants whose pages are open anywhere look again, and come here.
            if let Ok(entries) = state.store.meeting_entries(meeting.tenant_id, meeting.id).await {
                for e in entries {
                    state.desk.entry_changed(e.id);
                }
            }
            Ok(None)
        }
        // Another survivor took it first.
        other => Ok(other),
    }
}

/// Whether the node at `url` accepts a TCP connection (an unparseable address is trusted).
async fn answers(url: &str) -> bool {
    let Some(address) = authority(url) else { return true };
    matches!(tokio::time::timeout(PROBE_WITHIN, tokio::net::TcpStream::connect(address)).await, Ok(Ok(_)))
}

/// `host:port` of an `http://` or `https://` URL, with the scheme's port when none is given.
fn authority(url: &str) -> Option<String> {
    let (rest, port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return None;
    };
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    // A port follows the last colon, after an IPv6 address's closing bracket if any.
    let has_port = host.rsplit_once(':').is_some_and(|(before, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (!host.starts_with('[') || before.ends_with(']'))
    });
    Some(if has_port { host.to_owned() } else { format!("{host}:{port}") })
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn the_address_to_probe_comes_from_the_node_url() {
        assert_eq!(authority("http://127.0.0.1:8080").as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(authority("https://n1.comune.it").as_deref(), Some("n1.comune.it:443"));
        assert_eq!(authority("http://n1.comune.it/ricevo").as_deref(), Some("n1.comune.it:80"));
        assert_eq!(authority("http://[::1]:9000/").as_deref(), Some("[::1]:9000"));
        assert_eq!(authority("https://[2001:db8::1]").as_deref(), Some("[2001:db8::1]:443"));
        assert_eq!(authority("ftp://x"), None);
        assert_eq!(authority("http://"), None);
    }
}
