// The console's pages, one list per area (each area's file lists its own): path, menu
// title, the roles that see it in the menu (null: every staff role), and the component.
// The gateway decides what a role may do; the menu only hides what would answer 403.
import { homePages } from "./home.js";
import { operationsPages } from "./operations.js";
import { programmesPages } from "./programmes.js";
import { stewardshipPages } from "./stewardship.js";
import { registryPages } from "./registry.js";
import { donationsPages } from "./donations.js";

export const pages = [
  ...homePages,
  ...operationsPages,
  ...programmesPages,
  ...stewardshipPages,
  ...registryPages,
  ...donationsPages,
];
