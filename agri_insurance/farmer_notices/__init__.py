"""Notices to farmers (农户公示): the village-level public notice of a per-farmer list, with the photos that prove it
was posted. 《农业保险条例》第十条 and the 农业保险承保理赔管理办法 require one for the underwriting list (承保公示)
and one for the claim payouts (理赔公示); this package holds what the two share, so that each list module only
says what its rows are.

What is here (nothing of it knows a claim, a list or a product):
- `models.py`: the columns of a notice's period (`NoticePeriodColumns`) and of a posting photo
  (`NoticePhotoColumns`), as mixins: each list module keeps its own two tables with a real foreign key to its
  list (deleted with it), and these columns;
- `service.py`: the rules of a notice period (at least `NOTICE_MIN_DAYS` days), the per-village summary a page
  shows (`Village`, `villages_with_photos`), the villages still without a photo (`without_evidence`), a list's
  notice as its page shows it (`NoticeEvidence`: period, villages, how many have photos, the period's phase), and
  adding and removing photos (each checked to be a real PNG or JPEG: agri_insurance.storage.save_image);
- `documents.py`: the printable A4 notice of one village (`VillageSheet` → `village_pdf`), all villages as one
  PDF (`villages_pdf`) or as a zip of one PDF each (`villages_zip`);
- `forms.py`: the period form and the photo upload form;
- templates/farmer_notices/: the list page's notice section (`_notice_section.html`: period, notices to print,
  how many villages have photos, the villages, the insurer's period and photo forms) and the villages table with
  their photos (`_villages.html`; read-only for the bureaus: the delete buttons are the poster's actions).
Personal data is masked by agri_insurance.masking (mask_name, mask_id), as on every masked page or export.

How a list module plugs in (underwriting does it for 承保公示 in underwriting/notices.py; payouts does the same for
理赔公示 on its payout lists):
1. models: `class PayoutNotice(NoticePeriodColumns, db.Model)` keyed by its list (`list_id` primary key, foreign
   key to the list, on delete cascade) and `class PayoutNoticePhoto(NoticePhotoColumns, db.Model)` with its
   `list_id` foreign key; a migration creates the two tables; the code that deletes a list deletes them first
   (SQLite does not enforce the cascade).
2. its villages: one grouped query of its rows (`Village(township, village, households, rows, totals)`), then
   `villages_with_photos(villages, photos)`, in its `NoticeEvidence` (extended with its own object).
3. its notice: `VillageSheet(title, heading, intro, columns, rows, totals, closing, signature, filename)` per
   village, with its own columns (payouts: name, ID, loss event, payout) and `mask_name`/`mask_id` on the rows;
   `village_pdf`, `villages_pdf`, `villages_zip` write them.
4. its rules: who posts (the insurer of the list) and who reads (the county bureau of the list's county, the city;
   not finance), when photos may still change; `check_period`, `add_photos`, `remove_photo` do the checking and
   storing; it audits on the object its timeline belongs to.
5. its routes (scoped to its list: `scoped_get_or_404` on the owner; the photo itself, its upload and removal),
   its access-table rows, and its page's section: `notice_section(...)` of farmer_notices/_notice_section.html
   with its actions.
"""
