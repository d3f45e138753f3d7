//! Who is calling the inbox API.

/// An authenticated caller: their organization, which scopes every read and write, and their
/// subject (`sub`), which binds flows they start (OAuth) to them alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub organization_id: String,
    pub subject: Option<String>,
}
