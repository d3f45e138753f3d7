//! Who is calling the inbox API.

/// An authenticated caller: their organization, which scopes every read and write, their
/// subject (`sub`), which binds flows they start (OAuth) to them alone and is recorded on what
/// they do, and whether they may administer the organization's channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub organization_id: String,
    pub subject: Option<String>,
    pub admin: bool,
}
