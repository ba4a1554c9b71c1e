// Imports, duplicates, review, the community (chapters, archive, messengers, stories) and
// the dashboards.
export const stewardshipPages = [];
