/*  gom_xlsx: see gom_xlsx.h. libxlsxwriter writes the template; libzip
    opens the filled workbook and libxml2's streaming reader walks its XML
    parts; gom_csv's line reader (gom_lines_t) turns the rows into a
    report, with the same rules as a CSV. */
#include "gom_xlsx.h"
#include "gom_csv.h"
#include "gom_report.h"
#include "gom_util.h"

#include <czmq.h>
#include <errno.h>
#include <libxml/xmlreader.h>
#include <math.h>
#include <xlsxwriter.h>
#include <zip.h>

#define SHEET_NAME "Báo cáo"

//  --- Writing --------------------------------------------------------------

//  Column letters of a 0-based column index ("A", "AB").
static void
s_column_name (size_t col, char *buf)
{
    char tmp [8];
    size_t n = 0;
    col++;
    while (col && n < sizeof tmp) {
        tmp [n++] = (char)('A' + (col - 1) % 26);
        col = (col - 1) / 26;
    }
    for (size_t i = 0; i < n; i++)
        buf [i] = tmp [n - 1 - i];
    buf [n] = 0;
}

//  Copies text into buf cut to at most max bytes at a character boundary.
static void
s_cut (char *buf, size_t max, const char *text)
{
    size_t len = gom_utf8_prefix (text, max);
    memcpy (buf, text, len);
    buf [len] = 0;
}

//  The height a row needs for a label wrapped in a column about width
//  characters wide: Excel does not size rows to wrapped text by itself in
//  a file written this way, and a cut label prints cut.
static double
s_label_height (const char *label, size_t width)
{
    size_t chars = 0;
    for (const char *p = label; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    size_t lines = chars / width + 1;
    return lines > 1 ? 15.0 * (double)lines : LXW_DEF_ROW_HEIGHT;
}

typedef struct {
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *marker, *title, *note, *head, *label, *heading, *input, *none,
        *text, *code;
    size_t n_columns;  //  the most columns any section has
    lxw_row_t row;
} writer_t;

static void
s_hidden_row (writer_t *w)
{
    lxw_row_col_options hide = { .hidden = 1 };
    worksheet_set_row_opt (w->ws, w->row, LXW_DEF_ROW_HEIGHT, NULL, &hide);
}

//  A row for people: "#" in column A, text from column B across.
static void
s_note (writer_t *w, const char *text, lxw_format *format, double height)
{
    worksheet_write_string (w->ws, w->row, 0, "#", w->marker);
    lxw_col_t last = (lxw_col_t)(2 + w->n_columns);
    if (*text)
        worksheet_merge_range (w->ws, w->row, 1, w->row, last, text, format);
    if (height > 0)
        worksheet_set_row (w->ws, w->row, height, NULL);
    w->row++;
}

//  Excel's own check on an input cell: a whole number from min.
static lxw_error
s_validate_number (writer_t *w, lxw_col_t col, const char *code,
                   const char *label, int64_t min)
{
    char message [256], shown [120];
    s_cut (shown, 100, label);
    snprintf (message, sizeof message,
              "%s (%s): số nguyên từ %" PRId64
              ", để trống nếu không có số liệu. / A whole number from "
              "%" PRId64 "; empty if no figure.",
              code, shown, min, min);
    char cut [256];
    s_cut (cut, 250, message);
    lxw_data_validation dv = {
        .validate = LXW_VALIDATION_TYPE_INTEGER,
        .criteria = LXW_VALIDATION_CRITERIA_GREATER_THAN_OR_EQUAL_TO,
        .value_number = (double)min,
        .error_title = "Số không hợp lệ / Not valid",
        .error_message = cut,
        .error_type = LXW_VALIDATION_ERROR_TYPE_STOP,
    };
    return worksheet_data_validation_cell (w->ws, w->row, col, &dv);
}

int
gom_xlsx_template (gom_form_t *form, const char *period, const char *unit,
                   uint32_t revision, const char *path, char *err,
                   size_t errlen)
{
    writer_t w = { .wb = workbook_new (path) };
    if (!w.wb) {
        snprintf (err, errlen, "%s: cannot create the workbook", path);
        return -1;
    }
    for (size_t i = 0; i < gom_form_line_count (form); i++) {
        const gom_form_line_t *l = gom_form_line (form, i);
        if (l->kind == GOM_LINE_SECTION && l->n_columns > w.n_columns)
            w.n_columns = l->n_columns;
    }
    if (w.n_columns == 0)
        w.n_columns = 1;
    w.ws = workbook_add_worksheet (w.wb, SHEET_NAME);
    w.marker = workbook_add_format (w.wb);
    format_set_font_color (w.marker, 0x808080);
    w.code = workbook_add_format (w.wb);
    format_set_font_color (w.code, 0x808080);
    format_set_font_size (w.code, 8);
    format_set_border (w.code, LXW_BORDER_THIN);
    format_set_align (w.code, LXW_ALIGN_VERTICAL_TOP);
    w.title = workbook_add_format (w.wb);
    format_set_bold (w.title);
    format_set_font_size (w.title, 14);
    format_set_text_wrap (w.title);
    w.note = workbook_add_format (w.wb);
    format_set_italic (w.note);
    format_set_text_wrap (w.note);
    format_set_align (w.note, LXW_ALIGN_VERTICAL_TOP);
    w.head = workbook_add_format (w.wb);
    format_set_bold (w.head);
    format_set_text_wrap (w.head);
    format_set_border (w.head, LXW_BORDER_THIN);
    format_set_bg_color (w.head, 0xDDEBF7);
    format_set_align (w.head, LXW_ALIGN_CENTER);
    format_set_align (w.head, LXW_ALIGN_VERTICAL_CENTER);
    w.label = workbook_add_format (w.wb);
    format_set_text_wrap (w.label);
    format_set_border (w.label, LXW_BORDER_THIN);
    format_set_align (w.label, LXW_ALIGN_VERTICAL_TOP);
    w.heading = workbook_add_format (w.wb);
    format_set_bold (w.heading);
    format_set_text_wrap (w.heading);
    format_set_border (w.heading, LXW_BORDER_THIN);
    w.input = workbook_add_format (w.wb);
    format_set_unlocked (w.input);
    format_set_border (w.input, LXW_BORDER_THIN);
    format_set_bg_color (w.input, 0xFFFFF0);
    format_set_num_format (w.input, "#,##0");
    w.none = workbook_add_format (w.wb);
    format_set_border (w.none, LXW_BORDER_THIN);
    format_set_pattern (w.none, LXW_PATTERN_GRAY_125);
    w.text = workbook_add_format (w.wb);
    format_set_unlocked (w.text);
    format_set_text_wrap (w.text);
    format_set_border (w.text, LXW_BORDER_THIN);
    format_set_bg_color (w.text, 0xFFFFF0);
    format_set_align (w.text, LXW_ALIGN_VERTICAL_TOP);

    lxw_worksheet *ws = w.ws;
    lxw_row_col_options hide = { .hidden = 1 };
    worksheet_set_column_opt (ws, 0, 0, 12, NULL, &hide);
    worksheet_set_column (ws, 1, 1, 6, NULL);
    worksheet_set_column (ws, 2, 2, 55, NULL);
    worksheet_set_column (ws, 3, (lxw_col_t)(2 + w.n_columns), 14, NULL);

    //  Row 1, hidden: what the filled file is (form, version, period,
    //  unit, revision), as text so that Excel keeps leading zeros.
    char version [16], rev [16];
    snprintf (version, sizeof version, "%u", gom_form_version (form));
    snprintf (rev, sizeof rev, "%u", revision);
    const char *meta [] = { "#gom",     "form",  gom_form_code (form),
                            "version",  version, "period",
                            period,     "unit",  unit,
                            "revision", rev };
    for (size_t i = 0; i < sizeof meta / sizeof meta [0]; i++)
        worksheet_write_string (ws, 0, (lxw_col_t)i, meta [i], w.marker);
    s_hidden_row (&w);
    w.row = 1;
    s_note (&w, gom_form_title (form), w.title, 36);
    char line [600];
    snprintf (line, sizeof line,
              "Đơn vị / Unit: %s    Kỳ báo cáo / Period: %s    Biểu / Form: "
              "%s v%u",
              unit, period, gom_form_code (form), gom_form_version (form));
    s_note (&w, line, w.heading, 0);
    s_note (&w,
            "Điền số nguyên vào các ô màu vàng nhạt; để trống ô không có số "
            "liệu (để trống khác với 0). Các ô khác được khóa. / Fill whole "
            "numbers into the light yellow boxes; leave a box empty when "
            "there is no figure (empty is not 0). The other cells are locked.",
            w.note, 45);

    const gom_form_line_t *section = NULL;
    lxw_error rc = LXW_NO_ERROR;
    for (size_t i = 0; i < gom_form_line_count (form) && !rc; i++) {
        const gom_form_line_t *l = gom_form_line (form, i);
        if (l->kind == GOM_LINE_SECTION) {
            section = l;
            s_note (&w, "", NULL, 0);
            worksheet_write_string (ws, w.row, 0, "#section", w.marker);
            worksheet_merge_range (ws, w.row, 1, w.row,
                                   (lxw_col_t)(2 + w.n_columns), l->label,
                                   w.heading);
            w.row++;
            worksheet_write_string (ws, w.row, 0, "#columns", w.marker);
            for (size_t c = 0; c < l->n_columns; c++)
                worksheet_write_string (ws, w.row, (lxw_col_t)(3 + c),
                                        l->column_codes [c], w.marker);
            s_hidden_row (&w);
            w.row++;
            worksheet_write_string (ws, w.row, 0, "#", w.marker);
            worksheet_write_string (ws, w.row, 1, "STT", w.head);
            worksheet_write_string (ws, w.row, 2, "Nội dung", w.head);
            double height = LXW_DEF_ROW_HEIGHT;
            for (size_t c = 0; c < l->n_columns; c++) {
                worksheet_write_string (ws, w.row, (lxw_col_t)(3 + c),
                                        l->column_labels [c], w.head);
                double h = s_label_height (l->column_labels [c], 13);
                height = h > height ? h : height;
            }
            worksheet_set_row (ws, w.row, height, NULL);
            w.row++;
        }
        else if (l->kind == GOM_LINE_HEADING) {
            worksheet_write_string (ws, w.row, 0, "#", w.marker);
            worksheet_write_string (ws, w.row, 1, l->no, w.heading);
            worksheet_write_string (ws, w.row, 2, l->label, w.heading);
            worksheet_set_row (ws, w.row, s_label_height (l->label, 58), NULL);
            w.row++;
        }
        else {
            worksheet_write_string (ws, w.row, 0, l->code, w.marker);
            worksheet_write_string (ws, w.row, 1, l->no, w.label);
            worksheet_write_string (ws, w.row, 2, l->label, w.label);
            worksheet_set_row (ws, w.row, s_label_height (l->label, 58), NULL);
            for (size_t c = 0; section && c < section->n_columns && !rc; c++) {
                lxw_col_t col = (lxw_col_t)(3 + c);
                size_t cell = l->cells [c];
                if (cell == SIZE_MAX) {
                    worksheet_write_blank (ws, w.row, col, w.none);
                    continue;
                }
                worksheet_write_blank (ws, w.row, col, w.input);
                rc =
                    s_validate_number (&w, col, gom_form_cell_code (form, cell),
                                       gom_form_cell_label (form, cell),
                                       gom_form_cell_min (form, cell));
            }
            w.row++;
        }
    }
    if (gom_form_text_count (form) && !rc) {
        s_note (&w, "", NULL, 0);
        s_note (&w,
                "Phần viết: ghi vào ô màu vàng nhạt bên phải / Narrative: "
                "write in the light yellow box on the right",
                w.heading, 0);
    }
    for (size_t i = 0; i < gom_form_text_count (form) && !rc; i++) {
        const char *code, *label;
        bool required;
        gom_form_text (form, i, &code, &label, &required);
        //  Whole, as in the CSV template: a fixed buffer cut a long
        //  label inside a character (tests/fuzz, fuzz_form).
        char *shown = zsys_sprintf ("%s%s", label,
                                    required ? " (bắt buộc / required)" : "");
        worksheet_write_string (ws, w.row, 0, "#text", w.marker);
        worksheet_write_string (ws, w.row, 1, code, w.code);
        worksheet_write_string (ws, w.row, 2, shown, w.label);
        zstr_free (&shown);
        worksheet_merge_range (ws, w.row, 3, w.row,
                               (lxw_col_t)(2 + w.n_columns), "", w.text);
        worksheet_set_row (ws, w.row, 120, NULL);
        char message [256];
        snprintf (message, sizeof message,
                  "Tối đa %d ký tự. / At most %d characters.",
                  GOM_XLSX_TEXT_MAX, GOM_XLSX_TEXT_MAX);
        lxw_data_validation dv = {
            .validate = LXW_VALIDATION_TYPE_LENGTH,
            .criteria = LXW_VALIDATION_CRITERIA_LESS_THAN_OR_EQUAL_TO,
            .value_number = GOM_XLSX_TEXT_MAX,
            .error_title = "Quá dài / Too long",
            .error_message = message,
        };
        rc = worksheet_data_validation_cell (ws, w.row, 3, &dv);
        w.row++;
    }
    //  Printable on A4 landscape, one page wide; the header rows repeat.
    worksheet_set_landscape (ws);
    worksheet_set_paper (ws, 9);
    worksheet_fit_to_pages (ws, 1, 0);
    worksheet_set_margins (ws, 0.4, 0.4, 0.5, 0.5);
    lxw_protection protection = { .format_columns = 1, .format_rows = 1 };
    worksheet_protect (ws, NULL, &protection);
    worksheet_activate (ws);
    lxw_error closed = workbook_close (w.wb);
    if (rc || closed) {
        snprintf (err, errlen, "%s: cannot write the workbook: %s", path,
                  lxw_strerror (rc ? rc : closed));
        return -1;
    }
    return 0;
}

//  --- Reading --------------------------------------------------------------

//  The most a part of the workbook may hold once unpacked: a report's
//  sheet is some tens of KiB; this stops a zip bomb.
#define PART_MAX    (32 * 1048576)
#define ROWS_MAX    100000
#define COLUMNS_MAX 16384

//  Unpacks one part of the workbook; NULL with err if it is missing (and
//  required) or too big.
static char *
s_part (zip_t *zip, const char *name, bool required, size_t *len_p, char *err,
        size_t errlen)
{
    zip_stat_t st;
    zip_stat_init (&st);
    if (zip_stat (zip, name, 0, &st) != 0) {
        if (required)
            snprintf (err, errlen,
                      "a zip archive but not an Excel workbook: it has no "
                      "%s",
                      name);
        else
            err [0] = 0;
        return NULL;
    }
    if (!(st.valid & ZIP_STAT_SIZE) || st.size > PART_MAX) {
        snprintf (err, errlen,
                  "%s in the workbook unpacks to more than %d MiB: not a "
                  "report",
                  name, PART_MAX / 1048576);
        return NULL;
    }
    zip_file_t *f = zip_fopen (zip, name, 0);
    char *data = malloc (st.size + 1);
    zip_int64_t got = f ? zip_fread (f, data, st.size) : -1;
    if (!f || got != (zip_int64_t)st.size) {
        snprintf (err, errlen, "%s in the workbook cannot be read: %s", name,
                  f ? zip_file_strerror (f) : zip_strerror (zip));
        free (data);
        data = NULL;
    }
    else
        data [st.size] = 0;
    if (f)
        zip_fclose (f);
    *len_p = data ? st.size : 0;
    return data;
}

static xmlTextReaderPtr
s_xml (const char *data, size_t len, const char *name)
{
    //  No network, no entity substitution, no DTD loading: the parts of a
    //  workbook need none of them.
    return xmlReaderForMemory (data, (int)len, name, NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR |
                                   XML_PARSE_NOWARNING);
}

static bool
s_is (xmlTextReaderPtr r, int type, const char *name)
{
    return xmlTextReaderNodeType (r) == type &&
           strcmp ((const char *)xmlTextReaderConstLocalName (r), name) == 0;
}

static bool
s_is_text (xmlTextReaderPtr r)
{
    int t = xmlTextReaderNodeType (r);
    return t == XML_READER_TYPE_TEXT || t == XML_READER_TYPE_CDATA ||
           t == XML_READER_TYPE_WHITESPACE ||
           t == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

static char *
s_attr (xmlTextReaderPtr r, const char *name)
{
    return (char *)xmlTextReaderGetAttribute (r, (const xmlChar *)name);
}

//  The shared strings: the text of each <si>, its runs joined, without
//  the phonetic runs (<rPh>).
static char **
s_shared_strings (const char *data, size_t len, size_t *n_p, char *err,
                  size_t errlen)
{
    size_t n = 0, cap = 0;
    char **list = NULL;
    *n_p = 0;
    if (!data)
        return calloc (1, sizeof (char *));
    xmlTextReaderPtr r = s_xml (data, len, "sharedStrings.xml");
    gom_buf_t b = { 0 };
    bool in_t = false, in_phonetic = false;
    int ret;
    while (r && (ret = xmlTextReaderRead (r)) == 1) {
        if (s_is (r, XML_READER_TYPE_ELEMENT, "si")) {
            gom_buf_add (&b, "", 0);
            if (xmlTextReaderIsEmptyElement (r))
                goto end_si;
        }
        else if (s_is (r, XML_READER_TYPE_ELEMENT, "rPh"))
            in_phonetic = !xmlTextReaderIsEmptyElement (r);
        else if (s_is (r, XML_READER_TYPE_END_ELEMENT, "rPh"))
            in_phonetic = false;
        else if (s_is (r, XML_READER_TYPE_ELEMENT, "t"))
            in_t = !in_phonetic && !xmlTextReaderIsEmptyElement (r);
        else if (s_is (r, XML_READER_TYPE_END_ELEMENT, "t"))
            in_t = false;
        else if (in_t && s_is_text (r)) {
            const char *v = (const char *)xmlTextReaderConstValue (r);
            gom_buf_add (&b, v, strlen (v));
        }
        else if (s_is (r, XML_READER_TYPE_END_ELEMENT, "si")) {
        end_si:
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                list = realloc (list, (cap + 1) * sizeof (char *));
            }
            list [n++] = gom_buf_take (&b);
        }
    }
    if (!r || ret != 0) {
        snprintf (err, errlen,
                  "the workbook's shared strings are not valid "
                  "XML: the file is damaged");
        for (size_t i = 0; i < n; i++)
            free (list [i]);
        free (list);
        list = NULL;
    }
    else if (!list)
        list = calloc (1, sizeof (char *));
    else
        list [n] = NULL;
    free (b.data);
    if (r)
        xmlFreeTextReader (r);
    *n_p = list ? n : 0;
    return list;
}

//  A cell reference ("D14") into 0-based column and 1-based row.
static bool
s_ref (const char *ref, size_t *col, size_t *row)
{
    size_t c = 0, r = 0;
    const char *p = ref;
    for (; *p >= 'A' && *p <= 'Z'; p++) {
        c = c * 26 + (size_t)(*p - 'A' + 1);
        if (c > COLUMNS_MAX)
            return false;
    }
    if (c == 0 || *p < '1' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        r = r * 10 + (size_t)(*p - '0');
        if (r > 1048576)
            return false;
    }
    if (*p)
        return false;
    *col = c - 1;
    *row = r;
    return true;
}

//  A number as the cell stores it ("5", "5.0000000001", "1.2E3") as the
//  whole number it is when it is one, else as written.
static char *
s_number (const char *text)
{
    char *end;
    errno = 0;
    double v = strtod (text, &end);
    if (end != text && !*end && errno == 0 && isfinite (v) && fabs (v) < 9e15 &&
        fabs (v - round (v)) < 1e-6) {
        char buf [32];
        snprintf (buf, sizeof buf, "%.0f", round (v));
        return strdup (strcmp (buf, "-0") ? buf : "0");
    }
    return strdup (text);
}

typedef struct {
    size_t number;  //  1-based, as Excel shows it
    char **fields;  //  by column; NULL where the sheet has nothing
    size_t n;
} row_t;

typedef struct {
    row_t *rows;
    size_t n, cap;
} grid_t;

static void
s_grid_free (grid_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        for (size_t c = 0; c < g->rows [i].n; c++)
            free (g->rows [i].fields [c]);
        free (g->rows [i].fields);
    }
    free (g->rows);
    memset (g, 0, sizeof *g);
}

static void
s_grid_put (grid_t *g, size_t row, size_t col, char *value)
{
    if (!g->n || g->rows [g->n - 1].number != row) {
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 64;
            g->rows = realloc (g->rows, g->cap * sizeof (row_t));
        }
        g->rows [g->n++] = (row_t){ .number = row };
    }
    row_t *r = &g->rows [g->n - 1];
    if (col >= r->n) {
        r->fields = realloc (r->fields, (col + 1) * sizeof (char *));
        for (size_t c = r->n; c <= col; c++)
            r->fields [c] = NULL;
        r->n = col + 1;
    }
    free (r->fields [col]);
    r->fields [col] = value;
}

//  Reads a sheet's cells into a grid: each value as text, whatever way the
//  workbook stores it. -1 with err.
static int
s_sheet (const char *data, size_t len, const char *sheet, char **shared,
         size_t n_shared, grid_t *g, char *err, size_t errlen)
{
    xmlTextReaderPtr r = s_xml (data, len, sheet);
    gom_buf_t value = { 0 }, inline_text = { 0 };
    size_t row = 0, col = 0;
    char *type = NULL;
    bool in_cell = false, in_v = false, in_t = false, in_phonetic = false;
    int ret = 0, rc = 0;
    char ref [32] = "";
    while (r && rc == 0 && (ret = xmlTextReaderRead (r)) == 1) {
        if (s_is (r, XML_READER_TYPE_ELEMENT, "row")) {
            char *at = s_attr (r, "r");
            size_t number = at ? strtoul (at, NULL, 10) : row + 1;
            free (at);
            if (number <= row || number > 1048576 || g->n >= ROWS_MAX) {
                snprintf (err, errlen,
                          "sheet %s: row %zu is out of order or beyond the "
                          "rows a report has",
                          sheet, number);
                rc = -1;
            }
            row = number;
            col = SIZE_MAX;
        }
        else if (s_is (r, XML_READER_TYPE_ELEMENT, "c")) {
            char *at = s_attr (r, "r");
            size_t at_row = row;
            if (at && !s_ref (at, &col, &at_row)) {
                snprintf (err, errlen,
                          "sheet %s: \"%.20s\" is not a cell address: the "
                          "file is damaged",
                          sheet, at);
                rc = -1;
            }
            else if (!at)
                col = col == SIZE_MAX ? 0 : col + 1;
            else if (at_row != row) {
                snprintf (err, errlen,
                          "sheet %s: cell %s is not in row %zu: the file "
                          "is damaged",
                          sheet, at, row);
                rc = -1;
            }
            free (at);
            free (type);
            type = s_attr (r, "t");
            char name [8];
            s_column_name (col, name);
            snprintf (ref, sizeof ref, "%s%zu", name, row);
            in_cell = !xmlTextReaderIsEmptyElement (r);
            value.len = inline_text.len = 0;
            if (value.data)
                value.data [0] = 0;
            if (inline_text.data)
                inline_text.data [0] = 0;
        }
        else if (in_cell && s_is (r, XML_READER_TYPE_ELEMENT, "v"))
            in_v = !xmlTextReaderIsEmptyElement (r);
        else if (s_is (r, XML_READER_TYPE_END_ELEMENT, "v"))
            in_v = false;
        else if (in_cell && s_is (r, XML_READER_TYPE_ELEMENT, "rPh"))
            in_phonetic = !xmlTextReaderIsEmptyElement (r);
        else if (s_is (r, XML_READER_TYPE_END_ELEMENT, "rPh"))
            in_phonetic = false;
        else if (in_cell && s_is (r, XML_READER_TYPE_ELEMENT, "t"))
            in_t = !in_phonetic && !xmlTextReaderIsEmptyElement (r);
        else if (s_is (r, XML_READER_TYPE_END_ELEMENT, "t"))
            in_t = false;
        else if ((in_v || in_t) && s_is_text (r)) {
            const char *v = (const char *)xmlTextReaderConstValue (r);
            gom_buf_add (in_v ? &value : &inline_text, v, strlen (v));
        }
        else if (in_cell && s_is (r, XML_READER_TYPE_END_ELEMENT, "c")) {
            in_cell = in_v = in_t = false;
            const char *v = value.data ? value.data : "";
            char *text = NULL;
            if (type && strcmp (type, "s") == 0) {
                char *end;
                unsigned long i = strtoul (v, &end, 10);
                if (end == v || *end || i >= n_shared) {
                    snprintf (err, errlen,
                              "sheet %s, cell %s: shared string \"%.20s\" is "
                              "not in the workbook: the file is damaged",
                              sheet, ref, v);
                    rc = -1;
                }
                else
                    text = strdup (shared [i]);
            }
            else if (type && strcmp (type, "inlineStr") == 0)
                text = strdup (inline_text.data ? inline_text.data : "");
            else if (!type || strcmp (type, "n") == 0)
                text = value.len ? s_number (v) : NULL;
            else if (strcmp (type, "b") == 0)
                text = strdup (strcmp (v, "1") == 0 ? "TRUE" : "FALSE");
            else  //  "str" (a formula's text), "e" (an error), "d"
                text = strdup (v);
            if (text)
                s_grid_put (g, row, col, text);
        }
    }
    if (rc == 0 && (!r || ret != 0)) {
        snprintf (err, errlen,
                  "sheet %s is not valid XML%s%s: the file is damaged", sheet,
                  ref [0] ? " after cell " : "", ref);
        rc = -1;
    }
    free (type);
    free (value.data);
    free (inline_text.data);
    if (r)
        xmlFreeTextReader (r);
    return rc;
}

typedef struct {
    char *name, *id, *target;
} sheet_t;

//  The workbook's sheets in order, with the part each is in.
static sheet_t *
s_sheets (zip_t *zip, size_t *n_p, char **shared_part, char *err, size_t errlen)
{
    size_t len, rlen;
    char *wb = s_part (zip, "xl/workbook.xml", true, &len, err, errlen);
    char *rels = wb ? s_part (zip, "xl/_rels/workbook.xml.rels", true, &rlen,
                              err, errlen)
                    : NULL;
    sheet_t *list = NULL;
    size_t n = 0;
    *shared_part = NULL;
    xmlTextReaderPtr r = rels ? s_xml (wb, len, "workbook.xml") : NULL;
    int ret = 0;
    while (r && (ret = xmlTextReaderRead (r)) == 1)
        if (s_is (r, XML_READER_TYPE_ELEMENT, "sheet") && n < 256) {
            list = realloc (list, (n + 2) * sizeof (sheet_t));
            list [n].name = s_attr (r, "name");
            list [n].id = (char *)xmlTextReaderGetAttributeNs (
                r, (const xmlChar *)"id",
                (const xmlChar *)"http://schemas.openxmlformats.org/"
                                 "officeDocument/2006/relationships");
            list [n].target = NULL;
            if (list [n].name && list [n].id)
                n++;
            else {
                free (list [n].name);
                free (list [n].id);
            }
        }
    if (r)
        xmlFreeTextReader (r);
    r = rels ? s_xml (rels, rlen, "workbook.xml.rels") : NULL;
    while (r && (ret = xmlTextReaderRead (r)) == 1)
        if (s_is (r, XML_READER_TYPE_ELEMENT, "Relationship")) {
            char *id = s_attr (r, "Id");
            char *target = s_attr (r, "Target");
            char *rtype = s_attr (r, "Type");
            char *path = NULL;
            if (target)
                path = target [0] == '/' ? strdup (target + 1)
                                         : zsys_sprintf ("xl/%s", target);
            size_t tlen = rtype ? strlen (rtype) : 0;
            if (path && tlen > 14 &&
                strcmp (rtype + tlen - 14, "/sharedStrings") == 0 &&
                !*shared_part) {
                *shared_part = path;
                path = NULL;
            }
            for (size_t i = 0; i < n && id && path; i++)
                if (strcmp (list [i].id, id) == 0 && !list [i].target) {
                    list [i].target = path;
                    path = NULL;
                }
            free (path);
            free (id);
            free (target);
            free (rtype);
        }
    if (r)
        xmlFreeTextReader (r);
    if (wb && rels && n == 0)
        snprintf (err, errlen,
                  "the workbook lists no sheets: the file is "
                  "damaged");
    free (wb);
    free (rels);
    *n_p = n;
    return list;
}

static void
s_sheets_free (sheet_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (list [i].name);
        free (list [i].id);
        free (list [i].target);
    }
    free (list);
}

//  What a file that is not a zip archive is, by its first bytes.
static void
s_not_zip (const char *path, char *err, size_t errlen)
{
    unsigned char head [8] = { 0 };
    FILE *f = fopen (path, "rb");
    size_t got = f ? fread (head, 1, sizeof head, f) : 0;
    if (f)
        fclose (f);
    if (got == 8 && !memcmp (head, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
        snprintf (err, errlen,
                  "tệp được đặt mật khẩu hoặc là tệp Excel 97-2003 (.xls): "
                  "hãy lưu lại thành Excel Workbook (.xlsx), không đặt mật "
                  "khẩu / a password-protected workbook or an Excel 97-2003 "
                  "file (.xls): save it as Excel Workbook (.xlsx) without a "
                  "password");
    else if (got >= 2 && head [0] == 'P' && head [1] == 'K')
        snprintf (err, errlen,
                  "tệp Excel bị hỏng hoặc không đầy đủ / not an Excel "
                  "workbook (.xlsx) that can be read: the zip archive is cut "
                  "short or damaged; save it again from Excel");
    else
        snprintf (err, errlen,
                  "không phải tệp Excel (.xlsx) / not an Excel workbook "
                  "(.xlsx): an .xlsx file is a zip archive and this one is "
                  "not");
}

Gom__Report *
gom_xlsx_read (const char *path, gom_xlsx_places_t **places_p, char *err,
               size_t errlen)
{
    if (places_p)
        *places_p = NULL;
    int zerr = 0;
    zip_t *zip = zip_open (path, ZIP_RDONLY, &zerr);
    if (!zip) {
        if (zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN ||
            zerr == ZIP_ER_READ) {
            zip_error_t ze;
            zip_error_init_with_code (&ze, zerr);
            snprintf (err, errlen, "%s", zip_error_strerror (&ze));
            zip_error_fini (&ze);
        }
        else
            s_not_zip (path, err, errlen);
        return NULL;
    }
    Gom__Report *report = NULL;
    char *shared_part = NULL;
    size_t n_sheets = 0, n_shared = 0, len = 0;
    sheet_t *sheets = s_sheets (zip, &n_sheets, &shared_part, err, errlen);
    char *data = n_sheets && shared_part
                     ? s_part (zip, shared_part, false, &len, err, errlen)
                     : NULL;
    char **shared = n_sheets && (data || !err [0])
                        ? s_shared_strings (data, len, &n_shared, err, errlen)
                        : NULL;
    free (data);
    grid_t grid = { 0 };
    const char *sheet = NULL;
    for (size_t i = 0; shared && i < n_sheets && !sheet; i++) {
        data = sheets [i].target
                   ? s_part (zip, sheets [i].target, true, &len, err, errlen)
                   : NULL;
        if (!data) {
            if (!sheets [i].target)
                snprintf (err, errlen,
                          "sheet %s has no part: the file is "
                          "damaged",
                          sheets [i].name);
            break;
        }
        int rc = s_sheet (data, len, sheets [i].name, shared, n_shared, &grid,
                          err, errlen);
        free (data);
        if (rc != 0)
            break;
        //  The template's sheet: "#gom" in A1 (the hidden first row).
        if (grid.n && grid.rows [0].number == 1 && grid.rows [0].n &&
            grid.rows [0].fields [0] &&
            strcmp (grid.rows [0].fields [0], "#gom") == 0)
            sheet = sheets [i].name;
        else
            s_grid_free (&grid);
    }
    if (shared && !sheet && !err [0])
        snprintf (err, errlen,
                  "không có trang nào là mẫu báo cáo của gom / no sheet of "
                  "this workbook is a gom template (no #gom in cell A1): "
                  "make one with gom-agent template --xlsx");
    if (sheet) {
        gom_xlsx_places_t *places = gom_xlsx_places_new ();
        gom_lines_t *lines =
            gom_lines_new (gom_xlsx_places_map (places), err, errlen);
        char where [300];
        for (size_t i = 0; i < grid.n; i++) {
            row_t *row = &grid.rows [i];
            char **addresses = calloc (row->n + 1, sizeof (char *));
            const char **fields = calloc (row->n + 1, sizeof (char *));
            for (size_t c = 0; c < row->n; c++) {
                char name [8];
                s_column_name (c, name);
                addresses [c] =
                    zsys_sprintf ("%s!%s%zu", sheet, name, row->number);
                fields [c] = row->fields [c] ? row->fields [c] : "";
            }
            snprintf (where, sizeof where, "sheet %s, row %zu", sheet,
                      row->number);
            gom_lines_add (lines, fields, row->n, where,
                           (const char *const *)addresses);
            for (size_t c = 0; c < row->n; c++)
                zstr_free (&addresses [c]);
            free (addresses);
            free (fields);
        }
        report = gom_lines_end (&lines);
        if (report && places_p)
            *places_p = places;
        else
            gom_xlsx_places_destroy (&places);
    }
    s_grid_free (&grid);
    for (size_t i = 0; shared && i < n_shared; i++)
        free (shared [i]);
    free (shared);
    free (shared_part);
    s_sheets_free (sheets, n_sheets);
    zip_discard (zip);
    return report;
}
