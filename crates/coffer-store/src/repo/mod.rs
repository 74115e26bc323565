//! One implementation of every store domain, for both backends.
//!
//! The SQL is written once, with `$N` placeholders (sqlx's SQLite driver binds `$N` by number, so
//! the same statement text runs on both), and rows become records through `sqlx::FromRow`. Each
//! domain is a macro (`kms_store_impl!`, `secret_store_impl!`, ...) that a backend instantiates
//! for its store type; what really differs between the databases is the [`Dialect`] the store
//! implements: the SQLite read cache and its commit hooks, SQL spellings, label lists, and
//! PostgreSQL's row locks.
//!
//! Why macros rather than a `Repo<D: Dialect>` generic over `sqlx::Database`: a generic body has
//! to carry `for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>`, `Encode + Type` for
//! every bound type and `IntoArguments` bounds through every method, and those higher-ranked
//! bounds do not survive `async_trait`'s `Send` futures ("implementation of `Executor` is not
//! general enough"). A macro expands to concrete types, which is also how the IAM and audit stores
//! were already shared (IAM, [`crate::audit_sql`]).
//!
//! - [`meta`], [`identity`], [`kms`] (with [`grants`]), [`secrets`], [`rotation`], [`parameters`]
//!   (with [`parameter_settings`]), [`iam`], [`breakglass`]: the domain bodies. The audit
//!   trail's is [`crate::audit_sql`].

pub(crate) mod breakglass;
pub(crate) mod grants;
pub(crate) mod iam;
pub(crate) mod identity;
pub(crate) mod kms;
pub(crate) mod maintenance;
pub(crate) mod meta;
pub(crate) mod parameter_settings;
pub(crate) mod parameters;
pub(crate) mod rotation;
pub(crate) mod secrets;

use crate::Result;
use crate::sqlite::cache::{Cached, Lookup};
use sqlx::{Database, Transaction};

/// What a backend supplies to the shared domain bodies.
///
/// The hooks are called on the concrete store type inside each macro's expansion, so their
/// futures' `Send`-ness is known there (no `Send` bounds needed here).
pub(crate) trait Dialect {
    type Db: Database;

    /// The SQL literal of boolean true (SQLite keeps booleans as the integers 0 and 1).
    const TRUE: &'static str;
    /// The scalar function of the larger of two values (`MAX(a, b)` on SQLite).
    const GREATEST: &'static str;
    /// An empty blob literal, for reads that leave sealed columns out.
    const EMPTY_BLOB: &'static str;
    /// A column holding the values of `expr` over the rows of `from` (a `FROM ... WHERE ...`
    /// correlated to the outer row) in `order`, decoded as [`TextList`] or [`IntList`]: in the
    /// same statement as the record it belongs to, so one snapshot (PostgreSQL's `ARRAY(...)`;
    /// SQLite's ordered `group_concat`, joined by the unit separator, which labels cannot hold).
    fn list(expr: &str, from: &str, order: &str) -> String;

    /// Commit a write transaction. On SQLite this invalidates the read cache, whatever the
    /// outcome (a failed commit may still have changed something).
    async fn commit(&self, tx: Transaction<'_, Self::Db>) -> Result<()>;

    /// Run one write statement outside a transaction (and on SQLite invalidate the cache).
    async fn write(
        &self,
        query: sqlx::query::Query<'_, Self::Db, <Self::Db as Database>::Arguments>,
    ) -> Result<<Self::Db as Database>::QueryResult>;

    /// Serve a record from the read cache, or read it with the one-row `query` and make it a
    /// `T`: on SQLite through the pool, keeping it unless a write committed since the read
    /// started; on PostgreSQL (no cache: other nodes write too) on a reader connection
    /// (`postgres/conns.rs`), since a read through sqlx's pool costs a second round trip, the
    /// ping sqlx makes when a connection is returned.
    async fn cached<'q, R, T>(
        &self,
        key: impl FnOnce() -> Lookup,
        query: impl FnOnce() -> RowQuery<'q, Self::Db, R>,
    ) -> Result<Option<T>>
    where
        R: for<'r> sqlx::FromRow<'r, <Self::Db as Database>::Row> + Send + Unpin + Into<T>,
        T: Cached;

    /// Lock a parameter's row for the rest of `tx` (PostgreSQL's `FOR UPDATE`). SQLite's one
    /// writer at a time makes this a no-op there.
    async fn lock_parameter(
        tx: &mut Transaction<'_, Self::Db>,
        account: &str,
        region: &str,
        key: &str,
    ) -> Result<()>;
}

/// A query for one row of `R`.
pub(crate) type RowQuery<'q, Db, R> = sqlx::query::QueryAs<'q, Db, R, <Db as Database>::Arguments>;

/// A text list column built by [`Dialect::list`]; each backend decodes its own form.
#[derive(Debug, Default)]
pub struct TextList(pub(crate) Vec<String>);

/// An integer list column built by [`Dialect::list`].
#[derive(Debug, Default)]
pub struct IntList(pub(crate) Vec<i64>);

impl From<TextList> for Vec<String> {
    fn from(l: TextList) -> Self {
        l.0
    }
}

/// Tags as stored, JSON text ([`crate::records::tags_to_json`]).
#[derive(Debug, sqlx::Type)]
#[sqlx(transparent)]
pub struct TagsJson(String);

impl TryFrom<TagsJson> for Vec<crate::records::Tag> {
    type Error = crate::StoreError;
    fn try_from(t: TagsJson) -> Result<Self> {
        crate::records::tags_from_json(&t.0)
    }
}

/// A list of strings as stored, JSON text (IAM's OIDC client ids and thumbprints).
#[derive(Debug, sqlx::Type)]
#[sqlx(transparent)]
pub struct StringsJson(String);

impl TryFrom<StringsJson> for Vec<String> {
    type Error = crate::StoreError;
    fn try_from(t: StringsJson) -> Result<Self> {
        crate::repo::iam::strings_from_json(&t.0)
    }
}

/// `usize` limits as the BIGINT a LIMIT takes.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
