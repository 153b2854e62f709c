//! What the [`UserStore`] trait provides, as every store can do it from its required
//! methods: the store overrides them where it reads better.

use super::{
    LIST_PAGE, ListKey, ListVisit, SEARCH_STEP, Selection, StoreError, UserField, UserMatch, UserRecord,
    UserRef, UserStore, user_ids,
};

/// The one user `matches` (what `reference`, read from `user_ref`, found) name, or why not:
/// [`UserStore::resolve`]'s rule. The outer error is the store's.
pub(super) fn one_user_of<S: UserStore + ?Sized>(
    store: &S,
    user_ref: &str,
    reference: &UserRef,
    mut matches: Vec<UserMatch>,
) -> Result<Result<String, StoreError>, StoreError> {
    // An id written by SQL may carry white space (`" f15a"` beside `"f15a"`), which the
    // reference lost when it was trimmed: that user is a match too, so the two are told
    // apart instead of the save going to the other one (bb10).
    if let Some(typed) = UserRef::id_as_typed(user_ref)
        && !matches.iter().any(|m| m.id == typed)
    {
        match store.user(&typed) {
            Ok(_) => matches.push(UserMatch { id: typed, field: UserField::Id }),
            Err(StoreError::UserNotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // An explicit form names its field and nothing else. When that finds nobody and a
    // username (or an email, a phone) was made to read `id:zzz`, say whose literal name it
    // is and how to name them: never send a save there unasked.
    if matches.is_empty() && reference.field.is_some() {
        let literal = UserRef { text: user_ref.trim().to_owned(), field: None };
        if let Some(found) = store.lookup(&literal)?.into_iter().find(|m| m.field != UserField::Id) {
            return Ok(Err(StoreError::OnlyALiteralName { reference: user_ref.to_owned(), found }));
        }
    }
    let Some(first) = matches.first() else {
        return Ok(Err(StoreError::UserNotFound(user_ref.to_owned())));
    };
    let id = first.id.clone();
    if matches.iter().all(|m| m.id == id) {
        return Ok(Ok(id));
    }
    // One user found by two fields (an id that is also their phone) is still one.
    let mut seen = std::collections::HashSet::new();
    matches.retain(|m| seen.insert(m.id.clone()));
    Ok(Err(StoreError::Ambiguous { reference: user_ref.to_owned(), matches }))
}

/// [`UserStore::for_each_selected`] as every store can: the whole list, or the search's steps, or
/// each id read on its own.
pub(crate) fn visit_selected_one_by_one<S: UserStore + ?Sized>(
    store: &S,
    selection: &Selection,
    visit: &mut dyn FnMut(&UserRecord, &str) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    match selection {
        Selection::All => store.for_each_user(visit),
        Selection::Search(query) => {
            // One snapshot for every step, as a listing reads (bb42 F4): a user renamed while
            // the steps went on moved past the step being read and was visited twice (a dry
            // run counted 62,500 matches of 50,000 users: bb64 F2).
            store.pin_reads()?;
            let visited = (|| {
                let mut after: Option<ListKey> = None;
                loop {
                    let step = store.scan_matches(query, after.as_ref(), SEARCH_STEP, SEARCH_STEP)?;
                    for hit in &step.hits {
                        let record = store.user(&hit.user.id)?;
                        let document = store.custom_data(&hit.user.id)?;
                        visit(&record, &document.text)?;
                    }
                    match step.next {
                        Some(next) => after = Some(next),
                        None => return Ok(()),
                    }
                }
            })();
            store.unpin_reads();
            visited
        }
        Selection::Ids(ids) => ids.for_each(user_ids::ids_unread, &mut |id| {
            let record = store.user(id)?;
            let document = store.custom_data(id)?;
            visit(&record, &document.text)
        }),
    }
}

/// [`UserStore::walk_list`] a page at a time under [`UserStore::pin_reads`]: what it does
/// unless a store reads its list better (also the way for a few users where one statement
/// serves them).
pub(crate) fn walk_list_in_pages<S: UserStore + ?Sized>(
    store: &S,
    search: Option<&str>,
    first: usize,
    documents: bool,
    visit: &mut ListVisit<'_>,
) -> Result<(), StoreError> {
    store.pin_reads()?;
    let walked = (|| {
        let (mut after, mut left) = (None::<ListKey>, first);
        while left > 0 {
            let wanted = left.min(LIST_PAGE);
            let page = match search {
                Some(query) => store.search(query, after.as_ref(), wanted)?,
                None => store.page_after(after.as_ref(), wanted)?,
            };
            let mut texts = std::collections::HashMap::new();
            if documents && !page.is_empty() {
                let ids: Vec<String> = page.iter().map(|entry| entry.user.id.clone()).collect();
                // What this read cannot give (a user gone since the page) is `None`.
                let _ = store.for_each_selected(&Selection::Ids(ids.into()), &mut |record, text| {
                    texts.insert(record.user.id.clone(), text.to_owned());
                    Ok(())
                });
            }
            let full = page.len() == wanted;
            after = page.last().map(|entry| entry.key.clone());
            for entry in page {
                let text = texts.remove(&entry.user.id);
                if !visit(entry, text)? {
                    return Ok(());
                }
            }
            if !full {
                break;
            }
            left -= wanted;
        }
        Ok(())
    })();
    store.unpin_reads();
    walked
}
