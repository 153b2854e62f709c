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

/// At most this many claims wait for their holders' records at once (a file of renames):
/// when that many are kept, those whose name is free by now are let go; past half of it still
/// waiting, a name held by another is refused at its line, as it was.
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

/// One record's side of a name still held by two users once every record is in.
pub(super) struct Claimant {
    pub(super) origin: String,
    pub(super) value: String,
    pub(super) id: String,
}

/// A name still held by another user once every record is in: the first record (in the
/// file's order) that claimed it, and the last (the same one, when only one did).
pub(super) struct Unsettled {
    pub(super) field: &'static str,
    pub(super) key: String,
    pub(super) first: Claimant,
    pub(super) last: Claimant,
    /// Every user who holds the name, in id order.
    pub(super) holders: Vec<String>,
}

impl WriteTables<'_> {
    /// Whether the clash of `id`'s `key` with other holders is kept as a claim (in an upsert):
    /// a holder may be a user whose record, later in the file, gives them another name.
    pub(super) fn claim_held_name(
        &mut self,
        field: &'static str,
        key: &str,
        value: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let Some(claims) = &self.name_claims else { return Ok(false) };
        if claims.claims.len() >= CLAIMS_KEPT {
            // Most of a file's hand-overs are settled by the next few lines (25,000 swaps were
            // refused at the 20,001st though one waited at a time: bb39).
            let mut claims = self.name_claims.take().unwrap_or_default();
            let mut kept = Vec::with_capacity(claims.claims.len());
            for claim in claims.claims {
                if !self.other_holders(&claim)?.is_empty() {
                    kept.push(claim);
                }
            }
            claims.claims = kept;
            let still = claims.claims.len();
            self.name_claims = Some(claims);
            if still > CLAIMS_KEPT / 2 {
                return Ok(false);
            }
        }
        let Some(claims) = &mut self.name_claims else { return Ok(false) };
        let origin = claims.origin.clone();
        claims.claims.push(NameClaim {
            field,
            key: key.to_owned(),
            value: value.to_owned(),
            id: id.to_owned(),
            origin,
        });
        Ok(true)
    }

    /// Who holds `claim`'s name besides its claimant.
    fn other_holders(&self, claim: &NameClaim) -> Result<Vec<String>, StoreError> {
        let index = match claim.field {
            "username" => &self.username_keys,
            "primaryEmail" => &self.email_keys,
            _ => &self.phone_keys,
        };
        Ok(ids_with_key(index, &claim.key)?.into_iter().filter(|holder| *holder != claim.id).collect())
    }

    /// Once every record is in: the first claim (in the file's order) whose name another user
    /// still holds, with the last claim of that name.
    pub(super) fn settle_name_claims(&mut self) -> Result<Option<Unsettled>, StoreError> {
        let Some(claims) = self.name_claims.take() else { return Ok(None) };
        let mut unsettled = None;
        for (place, claim) in claims.claims.iter().enumerate() {
            let others = self.other_holders(claim)?;
            if !others.is_empty() {
                unsettled = Some((place, others));
                break;
            }
        }
        let Some((place, mut holders)) = unsettled else { return Ok(None) };
        let first = &claims.claims[place];
        let same = |claim: &&NameClaim| claim.field == first.field && claim.key == first.key;
        let last = claims.claims[place..].iter().rfind(same).unwrap_or(first);
        holders.push(first.id.clone());
        holders.sort();
        let side = |claim: &NameClaim| Claimant {
            origin: claim.origin.clone(),
            value: claim.value.clone(),
            id: claim.id.clone(),
        };
        Ok(Some(Unsettled {
            field: first.field,
            key: first.key.clone(),
            first: side(first),
            last: side(last),
            holders,
        }))
    }
}
