//! A feed without a packager, for the SFU's tests and benchmarks (helper "sfu"): what the
//! SFU sends is read back as it was sent, and the packager's keyframe wish is set by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use crate::{Feed, FeedMessage, FeedShared};

/// The reading end of [`Feed::channel`].
#[derive(Debug)]
pub struct FeedReceiver {
    receiver: Receiver<FeedMessage>,
    shared: Arc<FeedShared>,
}

impl Feed {
    /// A feed whose messages (at most `capacity` unread) go to the returned receiver instead
    /// of a packager; it wants no keyframe until told.
    pub fn channel(capacity: usize) -> (Feed, FeedReceiver) {
        let (sender, receiver) = sync_channel(capacity);
        let shared = Arc::new(FeedShared {
            keyframe_wanted: AtomicBool::new(false),
            end: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        (Feed { sender, shared: shared.clone() }, FeedReceiver { receiver, shared })
    }
}

impl FeedReceiver {
    /// The next message, if one is waiting.
    pub fn try_recv(&self) -> Option<FeedMessage> {
        self.receiver.try_recv().ok()
    }

    /// Sets what [`Feed::keyframe_wanted`] tells the SFU.
    pub fn want_keyframe(&self, wanted: bool) {
        self.shared.keyframe_wanted.store(wanted, Ordering::Relaxed);
    }
}
