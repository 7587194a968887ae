//! The data contract (`shared/spec/data-contract.md`) as static tables: every export
//! table, its columns with their Chinese labels (traditional and simplified), value
//! types, required flags, key and partitioning time column. Everything else in the
//! pipeline looks tables and columns up here, so the contract lives in one place.

/// How a column's raw text is parsed and stored in the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Plain UTF-8 text, trimmed.
    Str,
    /// Instant, stored as naive microsecond local wall-clock time.
    Timestamp,
    /// Calendar date.
    Date,
    /// Money, stored as Decimal(18,2).
    Money,
    /// Whole number (quantities, counts, line numbers).
    Int,
    /// true/false, 1/0, 是/否, Y/N.
    Bool,
    /// A department code, given as code or Chinese name.
    Department,
    /// An order-event activity code.
    Activity,
    /// One of a fixed list of lower-case codes.
    Code(&'static [&'static str]),
    /// Survey score, an integer 1–5.
    Score,
}

/// One column of an export table.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    /// Chinese labels accepted as headers: traditional first, then simplified forms.
    pub labels: &'static [&'static str],
    pub ty: ColType,
    pub required: bool,
}

/// One export table of the contract.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub labels: &'static [&'static str],
    pub columns: &'static [Column],
    /// Columns whose values identify a row; a later export with the same key replaces it.
    pub key: &'static [&'static str],
    /// The row's own time: the lake partitions by its local year and month.
    pub time_column: Option<&'static str>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// Department codes with their Chinese names (traditional, simplified).
pub const DEPARTMENTS: &[(&str, &[&str])] = &[
    (
        "sales",
        &["銷售", "销售", "銷售部", "销售部", "銷售部門", "销售部门"],
    ),
    (
        "cs",
        &[
            "客服",
            "客服部",
            "客服部門",
            "客服部门",
            "客戶服務",
            "客户服务",
        ],
    ),
    (
        "warehouse",
        &[
            "倉儲",
            "仓储",
            "倉儲部",
            "仓储部",
            "倉儲部門",
            "仓储部门",
            "倉庫",
            "仓库",
        ],
    ),
    (
        "purchasing",
        &[
            "采購",
            "采购",
            "採購",
            "采購部",
            "采购部",
            "采購部門",
            "采购部门",
        ],
    ),
    (
        "production",
        &["生產", "生产", "生產部", "生产部", "生產部門", "生产部门"],
    ),
    (
        "qc",
        &[
            "質量控制",
            "质量控制",
            "質檢",
            "质检",
            "質量控制部",
            "质量控制部",
            "品質",
            "品质",
        ],
    ),
    ("logistics", &["物流", "物流部", "物流部門", "物流部门"]),
    (
        "finance",
        &["財務", "财务", "財務部", "财务部", "財務部門", "财务部门"],
    ),
];

/// Order-event activities in rank order: equal timestamps are ordered by this rank.
pub const ACTIVITIES: &[&str] = &[
    "sales_reviewed",
    "submitted_to_cs",
    "receipt_notified",
    "cs_reviewed",
    "cs_returned",
    "customer_confirmed",
    "confirmation_sent_to_sales",
    "stock_checked",
    "stock_locked",
    "stock_short",
    "replenishment_requested",
    "shortage_reported_to_cs",
    "customer_agreed_change",
    "packed",
    "labeled",
    "carrier_selected",
    "preship_checked",
    "tracking_sent_to_cs",
    "tracking_sent_to_customer",
    "transport_exception",
    "exception_resolved",
    "arrival_notified",
    "progress_update_sent",
];

const fn col(
    name: &'static str,
    labels: &'static [&'static str],
    ty: ColType,
    required: bool,
) -> Column {
    Column {
        name,
        labels,
        ty,
        required,
    }
}

use ColType::*;

const ORDER_ID: Column = col("order_id", &["訂單編號", "订单编号"], Str, true);
const ORDER_ID_OPT: Column = col("order_id", &["訂單編號", "订单编号"], Str, false);
const SKU: Column = col("sku", &["物料編碼", "物料编码"], Str, true);
const QUANTITY: Column = col("quantity", &["數量", "数量"], Int, true);
const PASS_FAIL: &[&str] = &["pass", "fail"];

pub const TABLES: &[Table] = &[
    Table {
        name: "staff",
        labels: &["人員", "人员"],
        columns: &[
            col("staff_id", &["工號", "工号"], Str, true),
            col("name", &["姓名"], Str, false),
            col("department", &["部門", "部门"], Department, true),
            col("valid_from", &["生效日期"], Date, false),
            col("valid_to", &["失效日期"], Date, false),
        ],
        key: &["staff_id", "valid_from"],
        time_column: None,
    },
    Table {
        name: "orders",
        labels: &["訂單", "订单"],
        columns: &[
            ORDER_ID,
            col("signed_at", &["簽訂時間", "签订时间"], Timestamp, true),
            col("entered_at", &["錄入時間", "录入时间"], Timestamp, false),
            col("customer_id", &["客戶編號", "客户编号"], Str, true),
            col("customer_name", &["客戶名稱", "客户名称"], Str, false),
            col(
                "customer_contact",
                &["聯系方式", "联系方式", "聯繫方式"],
                Str,
                false,
            ),
            col("sales_rep_id", &["銷售代表", "销售代表"], Str, true),
            col("channel", &["渠道"], Str, false),
            col("delivery_place", &["交貨地點", "交货地点"], Str, false),
            col("promised_date", &["交貨時間", "交货时间"], Date, true),
            col("amount", &["訂單金額", "订单金额"], Money, true),
            col("currency", &["幣種", "币种"], Str, false),
            col("needs_production", &["需生產", "需生产"], Bool, false),
            col(
                "status",
                &["狀態", "状态"],
                Code(&["active", "cancelled"]),
                false,
            ),
            col("cancelled_at", &["取消時間", "取消时间"], Timestamp, false),
        ],
        key: &["order_id"],
        time_column: Some("signed_at"),
    },
    Table {
        name: "order_lines",
        labels: &["訂單明細", "订单明细"],
        columns: &[
            ORDER_ID,
            col("line_no", &["行號", "行号"], Int, true),
            SKU,
            col("product_name", &["產品名稱", "产品名称"], Str, true),
            col("spec", &["規格", "规格"], Str, false),
            QUANTITY,
            col("unit_price", &["單價", "单价"], Money, false),
        ],
        key: &["order_id", "line_no"],
        time_column: None,
    },
    Table {
        name: "order_events",
        labels: &["訂單事件", "订单事件"],
        columns: &[
            col("event_id", &["事件編號", "事件编号"], Str, true),
            ORDER_ID,
            col("activity", &["活動", "活动"], Activity, true),
            col("occurred_at", &["發生時間", "发生时间"], Timestamp, true),
            col("actor_id", &["操作人"], Str, false),
            col("sku", &["物料編碼", "物料编码"], Str, false),
            col("quantity", &["數量", "数量"], Int, false),
            col(
                "new_promised_date",
                &["新交貨時間", "新交货时间"],
                Date,
                false,
            ),
            col("reference", &["關聯單號", "关联单号"], Str, false),
            col("note", &["備註", "备注"], Str, false),
        ],
        key: &["event_id"],
        time_column: Some("occurred_at"),
    },
    Table {
        name: "shipments",
        labels: &["發貨單", "发货单"],
        columns: &[
            col("shipment_id", &["發貨單號", "发货单号"], Str, true),
            ORDER_ID,
            col("carrier", &["承運商", "承运商"], Str, true),
            col("tracking_no", &["物流單號", "物流单号"], Str, false),
            col("shipped_at", &["發貨時間", "发货时间"], Timestamp, true),
            col("arrived_at", &["到達時間", "到达时间"], Timestamp, false),
            col("delivered_at", &["簽收時間", "签收时间"], Timestamp, false),
            col(
                "acceptance_signed_at",
                &["驗收時間", "验收时间"],
                Timestamp,
                false,
            ),
            col(
                "acceptance_result",
                &["驗收結果", "验收结果"],
                Code(&["pass", "partial", "fail"]),
                false,
            ),
            col("handled_by", &["經辦人", "经办人"], Str, false),
        ],
        key: &["shipment_id"],
        time_column: Some("shipped_at"),
    },
    Table {
        name: "shipment_lines",
        labels: &["發貨明細", "发货明细"],
        columns: &[
            col("shipment_id", &["發貨單號", "发货单号"], Str, true),
            SKU,
            QUANTITY,
            col("label_order_id", &["標簽訂單號", "标签订单号"], Str, false),
            col("label_product_name", &["標簽品名", "标签品名"], Str, false),
            col("label_spec", &["標簽規格", "标签规格"], Str, false),
            col("label_quantity", &["標簽數量", "标签数量"], Int, false),
        ],
        key: &["shipment_id", "sku"],
        time_column: None,
    },
    Table {
        name: "inventory_counts",
        labels: &["庫存盤點", "库存盘点"],
        columns: &[
            col("count_id", &["盤點編號", "盘点编号"], Str, true),
            col("counted_at", &["盤點時間", "盘点时间"], Timestamp, true),
            col("warehouse", &["倉庫", "仓库"], Str, true),
            col("location", &["庫位", "库位"], Str, false),
            SKU,
            col("system_quantity", &["賬面數量", "账面数量"], Int, true),
            col("counted_quantity", &["實盤數量", "实盘数量"], Int, true),
            col("unit_cost", &["單位成本", "单位成本"], Money, false),
            col("counter_id", &["盤點人", "盘点人"], Str, false),
        ],
        key: &["count_id"],
        time_column: Some("counted_at"),
    },
    Table {
        name: "purchase_orders",
        labels: &["采購訂單", "采购订单"],
        columns: &[
            col("po_id", &["采購單號", "采购单号"], Str, true),
            ORDER_ID_OPT,
            SKU,
            QUANTITY,
            col("supplier", &["供應商", "供应商"], Str, true),
            col(
                "requested_at",
                &["補貨通知時間", "补货通知时间"],
                Timestamp,
                true,
            ),
            col("placed_at", &["下單時間", "下单时间"], Timestamp, false),
            col("due_date", &["約定到貨日", "约定到货日"], Date, false),
            col("received_at", &["到貨時間", "到货时间"], Timestamp, false),
            col("received_quantity", &["到貨數量", "到货数量"], Int, false),
            col("inspected_at", &["驗收時間", "验收时间"], Timestamp, false),
            col(
                "inspection_result",
                &["驗收結果", "验收结果"],
                Code(PASS_FAIL),
                false,
            ),
            col("buyer_id", &["采購員", "采购员"], Str, false),
        ],
        key: &["po_id"],
        time_column: Some("requested_at"),
    },
    Table {
        name: "production_jobs",
        labels: &["生產任務", "生产任务"],
        columns: &[
            col("job_id", &["生產單號", "生产单号"], Str, true),
            ORDER_ID,
            SKU,
            QUANTITY,
            col("planned_at", &["計劃時間", "计划时间"], Timestamp, false),
            col(
                "planned_finish_date",
                &["計劃完工日", "计划完工日"],
                Date,
                false,
            ),
            col("finished_at", &["完工時間", "完工时间"], Timestamp, false),
            col("qc_at", &["檢驗時間", "检验时间"], Timestamp, false),
            col(
                "qc_result",
                &["檢驗結果", "检验结果"],
                Code(PASS_FAIL),
                false,
            ),
            col("rework_count", &["返工次數", "返工次数"], Int, false),
            col("warehoused_at", &["入庫時間", "入库时间"], Timestamp, false),
            col("inspector_id", &["檢驗員", "检验员"], Str, false),
        ],
        key: &["job_id"],
        time_column: None,
    },
    Table {
        name: "service_cases",
        labels: &["客訴與售後", "客诉与售后"],
        columns: &[
            col("case_id", &["工單號", "工单号"], Str, true),
            ORDER_ID,
            col("opened_at", &["受理時間", "受理时间"], Timestamp, true),
            col(
                "kind",
                &["類型", "类型"],
                Code(&["complaint", "repair", "replacement", "return"]),
                true,
            ),
            col(
                "category",
                &["問題類別", "问题类别"],
                Code(&[
                    "quality",
                    "logistics",
                    "quantity",
                    "spec",
                    "service",
                    "other",
                ]),
                false,
            ),
            col("description", &["問題描述", "问题描述"], Str, false),
            col("recorded_by", &["記錄人", "记录人"], Str, false),
            col("routed_to", &["轉交部門", "转交部门"], Department, false),
            col("routed_at", &["轉交時間", "转交时间"], Timestamp, false),
            col(
                "resolved_at",
                &["處理完成時間", "处理完成时间"],
                Timestamp,
                false,
            ),
            col("closed_at", &["結案時間", "结案时间"], Timestamp, false),
            col(
                "returned_to_stock_at",
                &["退貨入庫時間", "退货入库时间"],
                Timestamp,
                false,
            ),
            col(
                "finance_reconciled_at",
                &["財務對賬時間", "财务对账时间"],
                Timestamp,
                false,
            ),
            col("refund_amount", &["退款金額", "退款金额"], Money, false),
        ],
        key: &["case_id"],
        time_column: Some("opened_at"),
    },
    Table {
        name: "surveys",
        labels: &["滿意度調查", "满意度调查"],
        columns: &[
            col("survey_id", &["問卷編號", "问卷编号"], Str, true),
            ORDER_ID,
            col("responded_at", &["回覆時間", "回复时间"], Timestamp, true),
            col("score", &["評分", "评分"], Score, true),
            col("comment", &["評語", "评语"], Str, false),
        ],
        key: &["survey_id"],
        time_column: Some("responded_at"),
    },
    Table {
        name: "rectification_responses",
        labels: &["整改回覆", "整改回复"],
        columns: &[
            col("notice_id", &["通知編號", "通知编号"], Str, true),
            col(
                "rectified_at",
                &["整改完成時間", "整改完成时间"],
                Timestamp,
                true,
            ),
            col("responder_id", &["回覆人", "回复人"], Str, false),
            col("note", &["說明", "说明"], Str, false),
        ],
        key: &["notice_id", "rectified_at"],
        time_column: Some("rectified_at"),
    },
];

/// Looks a table up by its canonical name or Chinese label.
pub fn table(name: &str) -> Option<&'static Table> {
    let name = name.trim();
    TABLES
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name) || t.labels.contains(&name))
}

/// The rank of an activity: events with equal timestamps are ordered by it.
pub fn activity_rank(activity: &str) -> Option<usize> {
    ACTIVITIES.iter().position(|a| *a == activity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_its_key_and_time_columns() {
        for t in TABLES {
            for k in t.key {
                assert!(t.column(k).is_some(), "{}: key {k}", t.name);
            }
            if let Some(tc) = t.time_column {
                let c = t.column(tc).expect("time column exists");
                assert_eq!(c.ty, ColType::Timestamp, "{}", t.name);
                assert!(c.required, "{}: partition column must be required", t.name);
            }
        }
    }

    #[test]
    fn labels_are_unique_within_a_table() {
        for t in TABLES {
            let mut seen = std::collections::HashSet::new();
            for c in t.columns {
                assert!(seen.insert(c.name), "{}: {}", t.name, c.name);
                for l in c.labels {
                    assert!(seen.insert(l), "{}: label {l}", t.name);
                }
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(table("訂單明細").map(|t| t.name), Some("order_lines"));
        assert_eq!(table("Orders").map(|t| t.name), Some("orders"));
        assert_eq!(activity_rank("sales_reviewed"), Some(0));
        assert_eq!(activity_rank("progress_update_sent"), Some(22));
        assert_eq!(activity_rank("shipped"), None);
    }
}
