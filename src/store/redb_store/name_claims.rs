//! An upsert's names checked against the import's end state (bb38 F3). A record that gives a
//! user a username, email or phone another stored user still holds may be followed, later in
//! the same file, by that user's record giving them another (a name handed from one user to
//! another; `export` writes in list order, so the new holder usually comes first). Refused at
//! its line, the import of a file whose end state is sound failed, and no order of the lines
//! serves a swap. The name is written and the claim kept; once every record is in, a claim
//! whose name another user still holds refuses the import at the claim's line, as before.

use super::WriteTables;
use super::tables::ids_with_key;
use crate::store::StoreError;

/// At most this many claims are waited on (a file of renames); past it, a name held by
/// another is refused at its line, as it was.
const CLAIMS_KEPT: usize = 20_000;

/// The names an upsert gave while another user held them.
#[derive(Default)]
pub(super) struct NameClaims {
    claims: Vec<NameClaim>,
    /// The record being written (`line 3`), for the claims it makes.
    pub(super) origin: String,
}

struct NameClaim {
    field: &'static str,
    /// The folded key, as the index holds it.
    key: String,
    /// As the record gave it, for the message.
    value: String,
    id: String,
    origin: String,
}

/// A claim whose name another user still holds once every record is in.
pub(super) struct Unsettled {
    pub(super) origin: String,
    pub(super) field: &'static str,
    pub(super) key: String,
    pub(super) value: String,
    /// Who holds it besides the claimant, in id order.
    pub(super) holders: Vec<String>,
}

impl WriteTables<'_> {
    /// Whether the clash of `id`'s `key` with other holders is kept as a claim (in an upsert,
    /// up to [`CLAIMS_KEPT`]): a holder may be a user whose record, later in the file, gives
    /// them another name.
    pub(super) fn claim_held_name(&mut self, field: &'static str, key: &str, value: &str, id: &str) -> bool {
        let Some(claims) = &mut self.name_claims else { return false };
        if claims.claims.len() >= CLAIMS_KEPT {
            return false;
        }
        let origin = claims.origin.clone();
        claims.claims.push(NameClaim {
            field,
            key: key.to_owned(),
            value: value.to_owned(),
            id: id.to_owned(),
            origin,
        });
        true
    }

    /// Once every record is in: the first claim (in the file's order) whose name another user
    /// still holds.
    pub(super) fn settle_name_claims(&mut self) -> Result<Option<Unsettled>, StoreError> {
        let Some(claims) = self.name_claims.take() else { return Ok(None) };
        for NameClaim { field, key, value, id, origin } in claims.claims {
            let index = match field {
                "username" => &self.username_keys,
                "primaryEmail" => &self.email_keys,
                _ => &self.phone_keys,
            };
            let holders: Vec<String> =
                ids_with_key(index, &key)?.into_iter().filter(|holder| *holder != id).collect();
            if !holders.is_empty() {
                return Ok(Some(Unsettled { origin, field, key, value, holders }));
            }
        }
        Ok(None)
    }
}
