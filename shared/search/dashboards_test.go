package search_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/search"
)

func TestSavedObjectsAreValid(t *testing.T) {
	for _, alias := range []string{"bars", "finfeed-all"} {
		data, err := search.SavedObjects(alias, "candles")
		if err != nil {
			t.Fatalf("SavedObjects(%q): %v", alias, err)
		}
		if err := search.ValidateSavedObjects(data, alias, "candles"); err != nil {
			t.Errorf("ValidateSavedObjects(%q):\n%v", alias, err)
		}
	}
}

func TestValidateSavedObjectsCatchesBreakage(t *testing.T) {
	good, err := search.SavedObjects("bars", "candles")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string // replaced once in the export
		alias    string
		candles  string
		wantErr  string
	}{
		{name: "time field not a date", old: `"timeFieldName":"timestamp"`, new: `"timeFieldName":"symbol"`, wantErr: "timeFieldName"},
		{name: "index pattern titled differently", alias: "other", wantErr: "want the alias"},
		{name: "aggregation on an unmapped field", old: `\"field\":\"close\"`, new: `\"field\":\"price\"`, wantErr: `field "price"`},
		{name: "terms on a double", old: `\"field\":\"symbol\"`, new: `\"field\":\"close\"`, wantErr: "want keyword"},
		{name: "dangling panel reference", old: `"id":"finfeed-indicators"},`, new: `"id":"finfeed-missing"},`, wantErr: "not in the file"},
		{name: "broken visState", old: `"visState":"{`, new: `"visState":"{{`, wantErr: "visState"},
		{name: "not JSON", old: `{"type":"dashboard"`, new: `{"type":"dashboard",,`, wantErr: "line 9"},
		{name: "candle panel on a bar field", old: `\"field\":\"start\"`, new: `\"field\":\"timestamp\"`, wantErr: `finfeed-candles-5m: date_histogram on field "timestamp"`},
		{name: "candle pattern on the bars' time field", old: `"timeFieldName":"start"`, new: `"timeFieldName":"timestamp"`, wantErr: "index-pattern/finfeed-candles: timeFieldName"},
		{name: "candle panel on the bar pattern", old: `"type":"index-pattern","id":"finfeed-candles"}]`, new: `"type":"index-pattern","id":"finfeed-bars"}]`, wantErr: `finfeed-candles-5m: date_histogram on field "start"`},
		{name: "candle index pattern titled differently", candles: "other", wantErr: `index-pattern/finfeed-candles: title candles, want the alias "other"`},
		{name: "moving average of an unmapped field", old: `\"field\":\"sma50\"`, new: `\"field\":\"sma200\"`, wantErr: `field "sma200"`},
		{name: "alerts column not mapped", old: `"columns":["symbol"`, new: `"columns":["ticker"`, wantErr: "column ticker"},
		{name: "alerts sorted on an unmapped field", old: `"sort":[["timestamp"`, new: `"sort":[["time"`, wantErr: "sort field time"},
		{name: "alerts sorted sideways", old: `"timestamp","desc"]]`, new: `"timestamp","up"]]`, wantErr: "sort direction"},
		{name: "alerts without the index pattern", old: `maCross:*\",\"language\":\"kuery\"},\"filter\":[],\"indexRefName\":\"kibana`, new: `maCross:*\",\"language\":\"kuery\"},\"filter\":[],\"indexRefName\":\"none`, wantErr: "finfeed-alerts: searchSourceJSON does not reference"},
		{name: "panel on a missing saved search", old: `"name":"panel_4","type":"search","id":"finfeed-alerts"}`, new: `"name":"panel_4","type":"search","id":"finfeed-gone"}`, wantErr: "not in the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := good
			if tt.old != "" {
				if !bytes.Contains(good, []byte(tt.old)) {
					t.Fatalf("fixture text %q not found in the saved objects", tt.old)
				}
				data = bytes.Replace(good, []byte(tt.old), []byte(tt.new), 1)
			}
			alias := "bars"
			if tt.alias != "" {
				alias = tt.alias
			}
			candles := "candles"
			if tt.candles != "" {
				candles = tt.candles
			}
			err := search.ValidateSavedObjects(data, alias, candles)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateSavedObjects: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// The dashboard has the indicator panels: SMA/EMA over close, and a table of the latest alerts.
func TestDashboardShowsIndicators(t *testing.T) {
	data, err := search.SavedObjects("bars", "candles")
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatal(err)
		}
		objs[o["type"].(string)+"/"+o["id"].(string)] = o
	}
	panels := map[string]bool{}
	for _, r := range objs["dashboard/finfeed-market"]["references"].([]any) {
		ref := r.(map[string]any)
		panels[ref["type"].(string)+"/"+ref["id"].(string)] = true
	}
	for _, want := range []string{"visualization/finfeed-moving-averages", "search/finfeed-alerts"} {
		if !panels[want] {
			t.Errorf("dashboard finfeed-market: no panel %s (panels %v)", want, panels)
		}
	}

	ma := objs["visualization/finfeed-moving-averages"]
	var vis struct {
		Type string
		Aggs []struct {
			Type, Schema string
			Params       map[string]any
		}
	}
	if err := json.Unmarshal([]byte(ma["attributes"].(map[string]any)["visState"].(string)), &vis); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, a := range vis.Aggs {
		if a.Schema == "metric" {
			lines = append(lines, a.Type+" "+a.Params["field"].(string))
		}
	}
	if got, want := strings.Join(lines, ", "), "avg close, avg sma20, avg sma50, avg ema12, avg ema26"; vis.Type != "line" || got != want {
		t.Errorf("moving averages: a %s chart of %s, want a line chart of %s", vis.Type, got, want)
	}

	alerts := objs["search/finfeed-alerts"]["attributes"].(map[string]any)
	var src struct {
		Query struct{ Query, Language string }
	}
	if err := json.Unmarshal([]byte(alerts["kibanaSavedObjectMeta"].(map[string]any)["searchSourceJSON"].(string)), &src); err != nil {
		t.Fatal(err)
	}
	if src.Query.Query != "volumeAlert:true or maCross:*" || src.Query.Language != "kuery" {
		t.Errorf("alerts query: got %+v, want volumeAlert:true or maCross:* (kuery)", src.Query)
	}
	if got := fmt.Sprint(alerts["sort"]); got != "[[timestamp desc]]" {
		t.Errorf("alerts sort: got %s, want newest first", got)
	}
}

// dashboardsServer answers POST /_dashboards/api/saved_objects/_import as OpenSearch Dashboards does, checking
// the xsrf header, the multipart file and every NDJSON line.
func dashboardsServer(t *testing.T, user, pass string) (*httptest.Server, *[]string) {
	t.Helper()
	var imported []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			if err := json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg}); err != nil {
				t.Error(err)
			}
		}
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			fail(http.StatusUnauthorized, "unauthorized")
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/_dashboards/api/saved_objects/_import" || r.URL.Query().Get("overwrite") != "true" {
			fail(http.StatusNotFound, "not found: "+r.Method+" "+r.URL.String())
			return
		}
		if r.Header.Get("osd-xsrf") == "" {
			fail(http.StatusBadRequest, "Request must contain a osd-xsrf header.")
			return
		}
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			fail(http.StatusUnsupportedMediaType, "want multipart/form-data")
			return
		}
		part, err := multipart.NewReader(r.Body, params["boundary"]).NextPart()
		if err != nil || part.FormName() != "file" || !strings.HasSuffix(part.FileName(), ".ndjson") {
			fail(http.StatusBadRequest, "want a file part named file with an .ndjson name")
			return
		}
		data, err := io.ReadAll(part)
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var o struct{ Type, ID string }
			if err := json.Unmarshal(sc.Bytes(), &o); err != nil || o.Type == "" || o.ID == "" {
				fail(http.StatusBadRequest, "bad saved object line")
				return
			}
			imported = append(imported, o.Type+"/"+o.ID)
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(map[string]any{"success": true, "successCount": len(imported)}); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &imported
}

func TestImportDashboards(t *testing.T) {
	dash, imported := dashboardsServer(t, "admin", "dash-Pa55")
	tests := []struct {
		name     string
		password string
		wantErr  string
	}{
		{name: "imports every object", password: "dash-Pa55"},
		{name: "refused credentials", password: "nope", wantErr: "status 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*imported = nil
			cfg := search.Config{URL: "https://127.0.0.1:1", DashboardsURL: dash.URL + "/_dashboards", Auth: search.AuthBasic,
				Username: "admin", Password: tt.password, Alias: "bars", Service: "es"}
			c, err := search.NewClient(t.Context(), cfg, search.Deps{Transport: dash.Client().Transport})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			})
			res, err := c.ImportDashboards(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ImportDashboards: got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ImportDashboards: %v", err)
			}
			want := []string{"index-pattern/finfeed-bars", "visualization/finfeed-close", "visualization/finfeed-change",
				"visualization/finfeed-indicators", "visualization/finfeed-moving-averages", "search/finfeed-alerts",
				"index-pattern/finfeed-candles", "visualization/finfeed-candles-5m", "dashboard/finfeed-market"}
			if strings.Join(*imported, ",") != strings.Join(want, ",") || res.SuccessCount != len(want) {
				t.Errorf("imported: got %v (count %d), want %v", *imported, res.SuccessCount, want)
			}
		})
	}
}

// TestDashboardShowsCandles: the dashboard has a panel on the candles index pattern (time field start) that
// charts the 5m final candles' close, high and low over start, split by symbol.
func TestDashboardShowsCandles(t *testing.T) {
	data, err := search.SavedObjects("bars", "my-candles")
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]any{}
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var o map[string]any
		if err := json.Unmarshal(line, &o); err != nil {
			t.Fatal(err)
		}
		objs[o["type"].(string)+"/"+o["id"].(string)] = o
	}
	pattern := objs["index-pattern/"+search.CandlesIndexPattern]["attributes"].(map[string]any)
	if pattern["title"] != "my-candles" || pattern["timeFieldName"] != "start" {
		t.Errorf("candle index pattern: %v, want title my-candles and time field start", pattern)
	}
	vis := objs["visualization/finfeed-candles-5m"]["attributes"].(map[string]any)
	var state struct {
		Aggs []struct {
			Type   string
			Params map[string]any
		}
	}
	if err := json.Unmarshal([]byte(vis["visState"].(string)), &state); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range state.Aggs {
		got = append(got, a.Type+":"+fmt.Sprint(a.Params["field"]))
	}
	if want := "avg:close,max:high,min:low,date_histogram:start,terms:symbol"; strings.Join(got, ",") != want {
		t.Errorf("candle panel aggregations: got %s, want %s", strings.Join(got, ","), want)
	}
	if ss := vis["kibanaSavedObjectMeta"].(map[string]any)["searchSourceJSON"].(string); !strings.Contains(ss, `interval:\"5m\"`) {
		t.Errorf("candle panel query %s: want the 5m interval only", ss)
	}
	if !strings.Contains(fmt.Sprint(objs["dashboard/finfeed-market"]["references"]), "finfeed-candles-5m") {
		t.Error("the dashboard has no candle panel")
	}
}
