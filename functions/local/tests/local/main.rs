//! `inbox-local` run as a process: its commands (`token`, `doctor`) and a restart after
//! `kill -9`. One test binary for both.

mod cli;
mod restart;
