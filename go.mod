module github.com/alphad/alphad

go 1.26
