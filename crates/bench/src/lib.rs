//! Palisade's benchmark harness.
//!
//! `palisade-load` drives a server with one pre-signed AWS request over many keep-alive HTTP/1.1
//! connections and reports throughput and latency; its `cold-start` subcommand times a fresh
//! `palisade serve` to its first answer. `bare-hyper` is the floor: a hyper server that does no
//! work, driven the same way in the same run, so that a Palisade number is read as a ratio to what
//! the machine and the HTTP stack allow at all.

pub mod cold_start;
pub mod duration;
pub mod load;
pub mod procfs;
pub mod request;
pub mod response;
pub mod summary;
