package server

import (
	_ "embed"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"
)

// handleAdminIngest archives an uploaded file.
//
//	POST /admin/files?id=&dataset=&name=&format=&index_format=
//
// The body is the file itself (Content-Length required), plaintext or
// Crypt4GH for the archive key; or multipart/form-data with an optional
// "index" part followed by a "file" part, the file's size in &size=.
func (s *Server) handleAdminIngest(w http.ResponseWriter, r *http.Request) {
	if !s.checkAdmin(w, r, "ingest") {
		return
	}
	q := r.URL.Query()
	req := IngestRequest{
		ID: q.Get("id"), Dataset: q.Get("dataset"), Name: q.Get("name"),
		Format: q.Get("format"), IndexFormat: q.Get("index_format"),
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		size, err := strconv.ParseInt(q.Get("size"), 10, 64)
		if err != nil || size < 0 {
			writeError(w, http.StatusBadRequest, "multipart ingest needs the file size in the size parameter")
			return
		}
		req.Size = size
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				writeError(w, http.StatusBadRequest, "multipart body has no \"file\" part")
				return
			}
			if part.FormName() == "index" {
				req.Index, err = io.ReadAll(io.LimitReader(part, s.limits.MaxIndexBytes+1))
				if err != nil {
					writeError(w, http.StatusBadRequest, "reading the index part")
					return
				}
				continue
			}
			if part.FormName() == "file" {
				req.Body = part
				break
			}
		}
	} else {
		if r.ContentLength < 0 {
			writeError(w, http.StatusLengthRequired, "Content-Length is required")
			return
		}
		req.Body, req.Size = r.Body, r.ContentLength
	}
	f, err := s.Ingest(r.Context(), req)
	if err != nil {
		var ie *IngestError
		switch {
		case errors.As(err, &ie) && ie.Conflict:
			writeError(w, http.StatusConflict, ie.Msg)
		case errors.As(err, &ie):
			writeError(w, http.StatusBadRequest, ie.Msg)
		default:
			status, msg := storeStatus(err)
			s.log.Error("ingest failed", "id", req.ID, "err", err, "request_id", requestID(r.Context()))
			writeError(w, status, msg)
		}
		return
	}
	writeJSON(w, http.StatusCreated, "", s.drsObjectOf(f))
}

func (s *Server) handleAdminDelete(w http.ResponseWriter, r *http.Request) {
	if !s.checkAdmin(w, r, "delete") {
		return
	}
	if err := s.Delete(r.Context(), r.PathValue("id")); err != nil {
		status, msg := storeStatus(err)
		writeError(w, status, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminSweep removes orphaned objects older than ?grace= (default
// 24h).
func (s *Server) handleAdminSweep(w http.ResponseWriter, r *http.Request) {
	if !s.checkAdmin(w, r, "sweep") {
		return
	}
	grace := 24 * time.Hour
	if g := r.URL.Query().Get("grace"); g != "" {
		d, err := time.ParseDuration(g)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "grace must be a duration such as 24h")
			return
		}
		grace = d
	}
	n, err := s.Sweep(r.Context(), grace)
	if err != nil {
		status, msg := storeStatus(err)
		writeError(w, status, msg)
		return
	}
	writeJSON(w, http.StatusOK, "", map[string]int{"removed": n})
}

//go:embed openapi.yaml
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openAPI)
}
