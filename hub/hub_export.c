/*  hub_export: see hub_export.h. */
#include "hub_export.h"

#include <csv.h>
#include <stdarg.h>

#include <string.h>
#include <xlsxwriter.h>

static json_t *
s_cell (json_t *totals, const char *code)
{
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get (totals, "cells"), i, c)
        if (strcmp (json_string_value (json_object_get (c, "code")), code) == 0)
            return c;
    return NULL;
}

static const char *
s_str (json_t *o, const char *key)
{
    json_t *v = json_object_get (o, key);
    return json_is_string (v) ? json_string_value (v) : "";
}

int
hub_export_xlsx (gom_form_t *form, json_t *totals, json_t *arrivals,
                 const char *path, char *err, size_t errlen)
{
    lxw_workbook *wb = workbook_new (path);
    if (!wb) {
        snprintf (err, errlen, "%s: cannot create the workbook", path);
        return -1;
    }
    lxw_format *title = workbook_add_format (wb);
    format_set_bold (title);
    format_set_font_size (title, 14);
    lxw_format *bold = workbook_add_format (wb);
    format_set_bold (bold);
    lxw_format *head = workbook_add_format (wb);
    format_set_bold (head);
    format_set_text_wrap (head);
    format_set_border (head, LXW_BORDER_THIN);
    format_set_bg_color (head, 0xDDEBF7);
    lxw_format *box = workbook_add_format (wb);
    format_set_border (box, LXW_BORDER_THIN);
    format_set_text_wrap (box);
    lxw_format *num = workbook_add_format (wb);
    format_set_border (num, LXW_BORDER_THIN);
    format_set_num_format (num, "#,##0");
    lxw_format *italic = workbook_add_format (wb);
    format_set_italic (italic);
    format_set_border (italic, LXW_BORDER_THIN);

    //  Sheet 1: the table in the form's layout.
    lxw_worksheet *ws = workbook_add_worksheet (wb, "Tổng hợp");
    worksheet_set_column (ws, 0, 0, 6, NULL);
    worksheet_set_column (ws, 1, 1, 60, NULL);
    worksheet_set_column (ws, 2, 12, 14, NULL);
    worksheet_set_landscape (ws);
    worksheet_fit_to_pages (ws, 1, 0);
    lxw_row_t row = 0;
    worksheet_write_string (ws, row++, 0, gom_form_title (form), title);
    char line [512];
    json_t *comp = json_object_get (totals, "completeness");
    snprintf (
        line, sizeof line, "Biểu %s v%u — kỳ %s — %s%s", s_str (totals, "form"),
        gom_form_version (form), s_str (totals, "period"),
        json_is_string (json_object_get (totals, "unit")) ? "đơn vị "
                                                          : "toàn bộ đơn vị",
        s_str (totals, "unit"));
    worksheet_write_string (ws, row++, 0, line, NULL);
    if (json_is_integer (json_object_get (comp, "expected"))) {
        snprintf (
            line, sizeof line,
            "Đã báo cáo %lld/%lld đơn vị (đúng hạn %lld, muộn %lld, "
            "chưa báo cáo %lld); hạn nộp %s",
            (long long)(json_integer_value (json_object_get (comp, "on_time")) +
                        json_integer_value (json_object_get (comp, "late"))),
            (long long)json_integer_value (json_object_get (comp, "expected")),
            (long long)json_integer_value (json_object_get (comp, "on_time")),
            (long long)json_integer_value (json_object_get (comp, "late")),
            (long long)json_integer_value (json_object_get (comp, "missing")),
            s_str (totals, "deadline_at"));
        worksheet_write_string (ws, row++, 0, line, NULL);
    }
    const gom_form_line_t *section = NULL;
    for (size_t i = 0; i < gom_form_line_count (form); i++) {
        const gom_form_line_t *l = gom_form_line (form, i);
        if (l->kind == GOM_LINE_SECTION) {
            section = l;
            row++;
            worksheet_write_string (ws, row++, 0, l->label, bold);
            worksheet_write_string (ws, row, 0, "STT", head);
            worksheet_write_string (ws, row, 1, "Nội dung", head);
            for (size_t c = 0; c < l->n_columns; c++)
                worksheet_write_string (ws, row, (lxw_col_t)(2 + c),
                                        l->column_labels [c], head);
            row++;
        }
        else if (l->kind == GOM_LINE_HEADING) {
            worksheet_write_string (ws, row, 0, l->no, italic);
            worksheet_write_string (ws, row++, 1, l->label, italic);
        }
        else {
            worksheet_write_string (ws, row, 0, l->no, box);
            worksheet_write_string (ws, row, 1, l->label, box);
            for (size_t c = 0; section && c < section->n_columns; c++) {
                lxw_col_t col = (lxw_col_t)(2 + c);
                if (l->cells [c] == SIZE_MAX) {
                    worksheet_write_blank (ws, row, col, italic);
                    continue;
                }
                json_t *cell =
                    s_cell (totals, gom_form_cell_code (form, l->cells [c]));
                json_t *sum = json_object_get (cell, "sum");
                if (json_is_integer (sum))
                    worksheet_write_number (
                        ws, row, col, (double)json_integer_value (sum), num);
                else
                    worksheet_write_blank (ws, row, col, box);
            }
            row++;
        }
    }

    //  Sheet 2: ratios against targets.
    ws = workbook_add_worksheet (wb, "Chỉ tiêu");
    worksheet_set_column (ws, 0, 0, 70, NULL);
    worksheet_set_column (ws, 1, 4, 14, NULL);
    const char *heads [] = { "Chỉ tiêu", "Kết quả", "Mục tiêu tối thiểu",
                             "Mục tiêu tối đa", "Đánh giá" };
    for (int c = 0; c < 5; c++)
        worksheet_write_string (ws, 0, (lxw_col_t)c, heads [c], head);
    size_t i;
    json_t *ind;
    json_array_foreach (json_object_get (totals, "indicators"), i, ind) {
        lxw_row_t r = (lxw_row_t)(i + 1);
        worksheet_write_string (ws, r, 0, s_str (ind, "label"), box);
        json_t *v = json_object_get (ind, "value");
        json_t *mn = json_object_get (ind, "target_min");
        json_t *mx = json_object_get (ind, "target_max");
        json_t *met = json_object_get (ind, "met");
        if (json_is_number (v))
            worksheet_write_number (ws, r, 1, json_number_value (v), box);
        else
            worksheet_write_string (ws, r, 1, "chưa đủ số liệu", box);
        if (json_is_number (mn))
            worksheet_write_number (ws, r, 2, json_number_value (mn), box);
        else
            worksheet_write_blank (ws, r, 2, box);
        if (json_is_number (mx))
            worksheet_write_number (ws, r, 3, json_number_value (mx), box);
        else
            worksheet_write_blank (ws, r, 3, box);
        worksheet_write_string (ws, r, 4,
                                json_is_true (met)    ? "Đạt"
                                : json_is_false (met) ? "Không đạt"
                                                      : "",
                                box);
    }

    //  Sheet 3: who has reported.
    if (arrivals) {
        ws = workbook_add_worksheet (wb, "Đơn vị");
        worksheet_set_column (ws, 0, 0, 12, NULL);
        worksheet_set_column (ws, 1, 2, 36, NULL);
        worksheet_set_column (ws, 3, 5, 18, NULL);
        const char *uh [] = { "Mã",         "Đơn vị",  "Trực thuộc",
                              "Tình trạng", "Lần sửa", "Thời điểm chốt" };
        for (int c = 0; c < 6; c++)
            worksheet_write_string (ws, 0, (lxw_col_t)c, uh [c], head);
        json_t *u;
        json_array_foreach (json_object_get (arrivals, "units"), i, u) {
            lxw_row_t r = (lxw_row_t)(i + 1);
            const char *state = s_str (u, "state");
            const char *shown = strcmp (state, "on_time") == 0 ? "Đúng hạn"
                                : strcmp (state, "late") == 0  ? "Muộn"
                                : strcmp (state, "rejected") == 0
                                    ? "Bị từ chối"
                                    : "Chưa báo cáo";
            worksheet_write_string (ws, r, 0, s_str (u, "code"), box);
            worksheet_write_string (ws, r, 1, s_str (u, "name"), box);
            worksheet_write_string (ws, r, 2, s_str (u, "parent_name"), box);
            worksheet_write_string (ws, r, 3, shown, box);
            json_t *rev = json_object_get (u, "revision");
            if (json_is_integer (rev))
                worksheet_write_number (ws, r, 4,
                                        (double)json_integer_value (rev), box);
            else
                worksheet_write_blank (ws, r, 4, box);
            worksheet_write_string (ws, r, 5, s_str (u, "sealed_at"), box);
        }
    }
    lxw_error rc = workbook_close (wb);
    if (rc != LXW_NO_ERROR) {
        snprintf (err, errlen, "%s: %s", path, lxw_strerror (rc));
        return -1;
    }
    return 0;
}

static void
s_csv_row (FILE *f, int n, ...)
{
    va_list ap;
    va_start (ap, n);
    for (int i = 0; i < n; i++) {
        const char *field = va_arg (ap, const char *);
        if (i)
            fputc (',', f);
        csv_fwrite (f, field ? field : "", field ? strlen (field) : 0);
    }
    fputs ("\r\n", f);
    va_end (ap);
}

void
hub_export_csv (json_t *out, FILE *f)
{
    fputs ("\xEF\xBB\xBF", f);  //  for Excel
    s_csv_row (f, 4, "code", "label", "sum", "units");
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get (out, "cells"), i, c) {
        char sum [32] = "", units [32];
        json_t *v = json_object_get (c, "sum");
        if (json_is_integer (v))
            snprintf (sum, sizeof sum, "%" JSON_INTEGER_FORMAT,
                      json_integer_value (v));
        snprintf (units, sizeof units, "%" JSON_INTEGER_FORMAT,
                  json_integer_value (json_object_get (c, "units")));
        s_csv_row (f, 4, json_string_value (json_object_get (c, "code")),
                   json_string_value (json_object_get (c, "label")), sum,
                   units);
    }
    s_csv_row (f, 6, "indicator", "label", "value", "target_min", "target_max",
               "met");
    json_array_foreach (json_object_get (out, "indicators"), i, c) {
        char value [32] = "", mn [32] = "", mx [32] = "";
        json_t *v = json_object_get (c, "value");
        json_t *met = json_object_get (c, "met");
        if (json_is_number (v))
            snprintf (value, sizeof value, "%.2f", json_number_value (v));
        if (json_is_number (json_object_get (c, "target_min")))
            snprintf (mn, sizeof mn, "%g",
                      json_number_value (json_object_get (c, "target_min")));
        if (json_is_number (json_object_get (c, "target_max")))
            snprintf (mx, sizeof mx, "%g",
                      json_number_value (json_object_get (c, "target_max")));
        s_csv_row (f, 6, json_string_value (json_object_get (c, "code")),
                   json_string_value (json_object_get (c, "label")), value, mn,
                   mx,
                   json_is_true (met)    ? "met"
                   : json_is_false (met) ? "not met"
                                         : "");
    }
}
