// Role names as staff read them (DESIGN.md's roles; the glossary's terms).
const ROLE_NAMES = {
  office: "校友办",
  liaison: "院系联络员",
  committee: "校友工作委员会",
  alumnus: "校友",
  chapter_officer: "校友会负责人",
  messenger: "班级联络人",
};

export function roleName(role) {
  return ROLE_NAMES[role] || role;
}
