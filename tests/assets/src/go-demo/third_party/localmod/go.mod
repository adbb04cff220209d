module example.com/lib/local

go 1.19
