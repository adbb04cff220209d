module example.com/lib/fork

go 1.19
