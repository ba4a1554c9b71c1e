// Donations beyond gift entry: agreements, pledges, in-kind gifts, namings, receipts,
// disbursements, campaigns and the finance reports. Reads as the gateway's READERS allow
// (the office and the committee); every write is the office's.
const READERS = ["office", "committee"];
const OFFICE = ["office"];

const page = (path, name, title, roles, component) => ({ path, name, title, roles, component });

export const donationsPages = [
  page("/agreements", "agreements", "捐赠协议", READERS, () => import("../pages/donations/Agreements.vue")),
  page("/pledges", "pledges", "认捐", READERS, () => import("../pages/donations/Pledges.vue")),
  page("/inkind", "inkind", "实物捐赠", READERS, () => import("../pages/donations/Inkind.vue")),
  page("/namings", "namings", "冠名与认养", READERS, () => import("../pages/donations/Namings.vue")),
  page("/receipts", "receipts", "收据管理", OFFICE, () => import("../pages/donations/Receipts.vue")),
  page("/disbursements", "disbursements", "基金支出", OFFICE, () => import("../pages/donations/Disbursements.vue")),
  page("/campaigns", "campaigns", "募捐活动", READERS, () => import("../pages/donations/Campaigns.vue")),
  page("/finance-reports", "finance-reports", "财务报表", READERS, () => import("../pages/donations/Reports.vue")),
];
