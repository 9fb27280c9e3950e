package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// The benchmark's patient: the request is for this login, and every target
// must answer with this patientId.
const (
	patientLogin = "jessie.smith@example.com"
	patientID    = "1235"
)

// writeUsersCSV writes n users (n >= 1) as CSV in the format of
// bench/testdata/users.csv: the patient first, then user0000001@example.com
// with patientId 100001 and so on. The output depends on n alone.
func writeUsersCSV(w io.Writer, n int) error {
	if n < 1 {
		return fmt.Errorf("%d users: the patient must be among them", n)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("login,patientId\n")
	line := make([]byte, 0, 64)
	for i := range n {
		login, id := generatedUser(i)
		line = append(append(append(append(line[:0], login...), ','), id...), '\n')
		bw.Write(line)
	}
	return bw.Flush()
}

// generatedUser is the i-th user of writeUsersCSV: the patient for 0, else
// user%07d@example.com with patientId 100000+i.
func generatedUser(i int) (login, id string) {
	if i == 0 {
		return patientLogin, patientID
	}
	return fmt.Sprintf("user%07d@example.com", i), strconv.Itoa(100000 + i)
}

// usersFile returns the path of a CSV file of n generated users in the
// scratch directory, writing it the first time it is asked for.
func usersFile(w workspace, n int) (string, error) {
	return w.once("users-"+strconv.Itoa(n), func() (string, error) {
		path := filepath.Join(w.tmp, fmt.Sprintf("users-%d.csv", n))
		f, err := os.Create(path)
		if err != nil {
			return "", err
		}
		if err := writeUsersCSV(f, n); err != nil {
			f.Close()
			return "", err
		}
		return path, f.Close()
	})
}
