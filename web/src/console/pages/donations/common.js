// The donations pages' words for the API's codes and a donor's display name; the paged
// list, the helpers and the common words come from the operations area.
import { FIELD_NAMES } from "@shared/api.js";
import { WORDS } from "../operations/common.js";

Object.assign(FIELD_NAMES, {
  signer_name: "签署人", signed_on: "签署日期", document_ref: "归档编号", total_fen: "认捐总额",
  instalments: "分期", agreement_id: "捐赠协议", item: "物品", quantity: "数量", unit: "单位",
  custody_location: "保管地点", appraised_value_fen: "评估价值", appraiser: "评估人",
  appraised_on: "评估日期", minimum_gift_fen: "最低捐赠额", term_years: "期限（年）",
  plaque_text: "铭牌文字", gift_ids: "捐赠记录", paid_on: "支出日期", amount_fen: "金额",
  alumnus_id: "校友 ID", fund_id: "基金", date: "日期",
});

Object.assign(WORDS, {
  pledgeStatus: { active: "履行中", fulfilled: "已履行" },
  inkindStatus: { received: "已接收", appraised: "已评估", in_use: "使用中", displayed: "展示中", disposed: "已处置" },
  namingKind: { building: "楼宇", room: "教室/房间", tree: "认养花木", bench: "座椅", other: "其他" },
  namingStatus: { available: "可认领", reserved: "已预留", named: "已冠名", expired: "已到期" },
  receiptStatus: { issued: "有效", void: "已作废" },
});

export function donorName(donor) {
  if (!donor) return "";
  return donor.name || WORDS.donorType[donor.type] || donor.type;
}

// A donor form's value as the API's DonorInput.
export function donorBody(donor) {
  return {
    type: donor.type,
    alumnus_id: donor.type === "alumnus" ? donor.alumnus_id || undefined : undefined,
    name: donor.type === "anonymous" ? undefined : donor.name || undefined,
  };
}

export function newDonor() {
  return { type: "alumnus", alumnus_id: "", name: "" };
}
