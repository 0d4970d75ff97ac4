//! The council sessions running on this node.

/// Council sessions live on this node (their media rooms and public streams).
#[derive(Debug, Default)]
pub struct Sessions {}
