module example.com/lib/strutil

go 1.19
