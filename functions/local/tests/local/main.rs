//! `inbox-local` run as a process: its commands (`token`, `doctor`), a restart after
//! `kill -9`, and its inbox page in headless Chromium. One test binary for all.

mod browser;
mod cli;
mod restart;
mod server;
mod webdriver;
